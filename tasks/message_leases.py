"""Leases on the broker messages a worker holds, so that the visibility timeout can be short.

kombu's Redis transport keeps every delivered, unacknowledged message in the `unacked` hash with
its delivery time in the `unacked_index` sorted set, and hands it out again once that time is
older than the visibility timeout. That is how the task of a worker that vanished (or whose
acknowledgement or requeue was lost with a Redis restart) is run again. The worker's main process
renews the time of every message it still holds (received and not finished), so a chunk that
runs longer than the timeout is never handed out twice, and the timeout only bounds how long a
lost message waits.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from celery.signals import worker_ready, worker_shutdown
from celery.worker import state
from kombu.transport.redis import Channel

from inferq.config import get_settings
from inferq.redis_client import REDIS_UNAVAILABLE, make_redis

UNACKED_INDEX = Channel.unacked_index_key
_stop = threading.Event()


def held_delivery_tags() -> list[str]:
    """Delivery tags of the messages this worker has received and not finished."""
    for _ in range(5):
        try:  # the consumer's thread changes these sets meanwhile
            requests = (*state.reserved_requests, *state.active_requests)
        except RuntimeError:
            continue
        return list({tag for r in requests if (tag := getattr(r.message, "delivery_tag", None))})
    return []


def renew_forever(period: float) -> None:
    """Every `period` seconds, mark the held messages as delivered now (only those still held)."""
    client = make_redis(get_settings())
    while not _stop.wait(period):
        tags = held_delivery_tags()
        if tags:
            # While Redis restarts a renewal is lost; the next one comes well within the timeout.
            with contextlib.suppress(*REDIS_UNAVAILABLE):
                client.zadd(UNACKED_INDEX, dict.fromkeys(tags, time.time()), xx=True)


@worker_ready.connect
def start_renewing(**_: Any) -> None:
    """Renew four times per visibility timeout until the worker shuts down."""
    period = max(0.5, get_settings().visibility_timeout / 4)
    threading.Thread(
        target=renew_forever, args=(period,), name="inferq-message-leases", daemon=True
    ).start()


@worker_shutdown.connect
def stop_renewing(**_: Any) -> None:
    """Stop renewing: what this worker still holds comes back after the timeout."""
    _stop.set()
