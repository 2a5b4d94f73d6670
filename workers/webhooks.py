"""Making one webhook delivery attempt: claim it, send it signed, record it, schedule the next."""

from __future__ import annotations

import logging
import time
from typing import Any

from inferq.config import Settings
from inferq.jobs.public import event_body, event_type
from inferq.jobs.record import JobRecord
from inferq.timefmt import now_rfc3339, rfc3339
from inferq.webhooks.deliveries import (
    FAILED,
    FINAL_STATUSES,
    GONE,
    PENDING,
    SUCCEEDED,
    Delivery,
    DeliveryStore,
    delivery_id,
    now_ms,
)
from inferq.webhooks.schedule import RetryPolicy
from inferq.webhooks.secrets import WebhookSecrets
from inferq.webhooks.sender import SendResult, send_signed
from inferq.webhooks.ssrf import HostAllowlist
from workers.context import WorkerContext

log = logging.getLogger(__name__)


def attempt_delivery(job_id: str, token: int, ctx: WorkerContext) -> None:
    """Send the job's webhook once if this token still holds it; never touches the job."""
    deliveries = DeliveryStore(ctx.store.redis)
    held = deliveries.claim(job_id, token, now_ms(), lease_ms(ctx.settings))
    if held is None:
        log.info("webhook of %s was handed to another worker; skipping", job_id)
        return
    delivery = deliveries.get(job_id) or open_delivery(job_id, ctx, deliveries)
    if delivery is None:
        deliveries.drop(job_id, held)
        return
    manual = delivery.status in FINAL_STATUSES
    result = send_signed(
        delivery.url,
        delivery.id,
        delivery.body.encode(),
        WebhookSecrets(ctx.store.redis).signing(delivery.tenant),
        ctx.settings.webhook_timeout_seconds,
        HostAllowlist.parse(ctx.settings.webhook_allowed_hosts),
    )
    status, delay = outcome(result, delivery, manual, RetryPolicy.from_settings(ctx.settings))
    next_at = "" if delay is None else rfc3339(time.time() + delay)
    next_due = None if delay is None else now_ms() + int(delay * 1000)
    attempt = attempt_record(result, delivery, manual, next_at)
    deliveries.finish(job_id, held, attempt, status, next_due, next_at)
    log.info("webhook %s attempt %d: %s", delivery.id, attempt["number"], result.error or "ok")


def attempt_record(
    result: SendResult, delivery: Delivery, manual: bool, next_at: str
) -> dict[str, Any]:
    """One attempt as `GET .../deliveries` lists it."""
    return {
        "number": delivery.attempts + 1,
        "at": now_rfc3339(),
        "trigger": "manual" if manual else "scheduled",
        "status_code": result.status_code,
        "latency_ms": result.latency_ms,
        "error": result.error,
        "response": result.response,
        "next_attempt_at": next_at or None,
    }


def open_delivery(job_id: str, ctx: WorkerContext, deliveries: DeliveryStore) -> Delivery | None:
    """Create the delivery of an ended job, or None if it has no webhook for this ending."""
    record = ctx.store.get(job_id)
    if record is None or not _subscribed(record):
        return None
    assert record.webhook is not None
    delivery = Delivery(
        id=delivery_id(job_id),
        job_id=job_id,
        tenant=record.tenant,
        event=event_type(record),
        url=record.webhook["url"],
        created_at=now_rfc3339(),
        body=event_body(record, ctx.store, ctx.settings).decode(),
    )
    deliveries.create(delivery)
    return delivery


def outcome(
    result: SendResult, delivery: Delivery, manual: bool, policy: RetryPolicy
) -> tuple[str, float | None]:
    """The delivery's status after this attempt and the seconds until the next one (or None)."""
    if result.succeeded:
        return SUCCEEDED, None
    if result.gone:
        return GONE, None
    if manual:
        return FAILED, None
    delay = policy.next_delay(delivery.scheduled_attempts + 1, result.retry_after)
    return (FAILED, None) if delay is None else (PENDING, delay)


def _subscribed(record: JobRecord) -> bool:
    if not record.webhook or not record.terminal:
        return False
    return event_type(record) in record.webhook.get("events", [])


def lease_ms(settings: Settings) -> int:
    """How long a worker holds a delivery before it may be handed out again."""
    return int(settings.webhook_lease_seconds * 1000)
