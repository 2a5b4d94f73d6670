"""Webhook tasks: one attempt per task, and the dispatcher thread that publishes them."""

from __future__ import annotations

import threading
from typing import Any

from celery.signals import worker_ready, worker_shutdown

from inferq.config import get_settings
from inferq.queue import DELIVER_WEBHOOK_TASK, WEBHOOKS_QUEUE
from tasks.app import celery_app
from workers.context import current_context
from workers.webhook_dispatch import WebhookDispatcher
from workers.webhooks import attempt_delivery

_stop = threading.Event()


@celery_app.task(name=DELIVER_WEBHOOK_TASK)
def deliver_webhook(job_id: str, token: int) -> None:
    """Make one attempt at the job's webhook; a stale or repeated message does nothing."""
    attempt_delivery(job_id, token, current_context())


def publish_delivery(job_id: str, token: int) -> None:
    """Queue one delivery attempt on the webhooks queue."""
    celery_app.send_task(DELIVER_WEBHOOK_TASK, args=[job_id, token], queue=WEBHOOKS_QUEUE)


@worker_ready.connect
def start_dispatcher(sender: Any = None, **_: Any) -> None:
    """In a worker that consumes the webhooks queue, hand out due deliveries until shutdown."""
    app = getattr(sender, "app", celery_app)
    if WEBHOOKS_QUEUE not in app.amqp.queues.consume_from:
        return
    dispatcher = WebhookDispatcher(get_settings(), publish_delivery)
    threading.Thread(
        target=dispatcher.run, args=(_stop,), name="inferq-webhook-dispatch", daemon=True
    ).start()


@worker_shutdown.connect
def stop_dispatcher(**_: Any) -> None:
    """Stop handing out deliveries; what is due stays due for the other workers."""
    _stop.set()
