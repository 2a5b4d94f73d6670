"""The loop in each webhook-consuming worker that hands due deliveries to the webhooks queue."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from kombu.exceptions import OperationalError

from inferq.config import Settings
from inferq.redis_client import REDIS_UNAVAILABLE, make_redis
from inferq.webhooks.deliveries import DeliveryStore, now_ms
from workers.webhooks import lease_ms

log = logging.getLogger(__name__)
#: Deliveries leased per look; a full batch means more may be due, so the next look is at once.
BATCH = 100
Publish = Callable[[str, int], None]


class WebhookDispatcher:
    """Polls the due set and publishes one delivery task per due delivery, leased to it."""

    def __init__(self, settings: Settings, publish: Publish) -> None:
        self.settings = settings
        self.publish = publish

    def run(self, stop: threading.Event) -> None:
        """Dispatch until `stop` is set; Redis or broker outages are waited out."""
        deliveries = DeliveryStore(make_redis(self.settings))
        while not stop.is_set():
            try:
                handed = self.dispatch_due(deliveries)
            except (*REDIS_UNAVAILABLE, OperationalError) as exc:
                # What was leased but not published is handed out again when the lease ends.
                log.warning("webhook dispatch paused: %s", exc)
                handed = 0
            except Exception:  # the loop must outlive any one bad round, or deliveries stall
                log.exception("webhook dispatch round failed")
                handed = 0
            if handed < BATCH:
                stop.wait(self.settings.webhook_poll_seconds)

    def dispatch_due(self, deliveries: DeliveryStore) -> int:
        """Lease what is due and publish it; returns how many deliveries were handed out."""
        token, job_ids = deliveries.lease_due(now_ms(), lease_ms(self.settings), BATCH)
        for job_id in job_ids:
            self.publish(job_id, token)
        return len(job_ids)
