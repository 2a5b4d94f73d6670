"""The Celery side every process shares: broker settings, queue names and job enqueueing."""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

from celery import Celery

from inferq.config import Settings, get_settings
from inferq.jobs.record import JobRecord
from inferq.redis_sentinel import is_sentinel_url, parse_sentinel_url

JOBS_QUEUE = "inferq.jobs"
WEBHOOKS_QUEUE = "inferq.webhooks"
BULK_QUEUE = "inferq.bulk"
"""Chunks of file jobs, on their own queue so that small interactive jobs are not starved."""
QUEUES = (JOBS_QUEUE, BULK_QUEUE, WEBHOOKS_QUEUE)
SCORE_JOB_TASK = "inferq.score_job"
SCORE_CHUNK_TASK = "inferq.score_chunk"
SPLIT_INPUT_TASK = "inferq.split_input"
SHADOW_CHUNK_TASK = "inferq.shadow_chunk"
DELIVER_WEBHOOK_TASK = "inferq.deliver_webhook"
#: Celery priorities on Redis: 0 is served first (kombu sorts lower numbers ahead).
PRIORITIES = {"high": 0, "normal": 3, "low": 6}
#: Shadow work comes after every real chunk of any priority.
SHADOW_PRIORITY = 9


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery settings: our own job store keeps state, so no result backend is used."""
    broker_url, sentinel_options = settings.redis_url, dict[str, Any]()
    if is_sentinel_url(broker_url):
        # kombu's sentinel:// transport asks the Sentinels for the primary on every connection.
        broker_url, sentinel_options = parse_sentinel_url(broker_url).kombu_broker()  # type: ignore[arg-type]
    return {
        "broker_url": broker_url,
        "broker_connection_retry_on_startup": True,
        # A demoted primary's `UNBLOCKED ... master -> replica` or `READONLY` reply is a
        # channel error: reconnect (through the Sentinels) instead of stopping the worker.
        "broker_channel_error_retry": True,
        "broker_transport_options": {
            **sentinel_options,
            # Held messages are renewed (tasks/message_leases.py); a lost one is looked for
            # every few seconds and handed out again once its visibility timeout passed.
            "visibility_timeout": settings.visibility_timeout,
            "unacked_restore_interval": min(10.0, settings.visibility_timeout / 2),
            "unacked_restore_throttle": 1,
            "queue_order_strategy": "priority",
            "priority_steps": list(range(10)),
            "socket_timeout": settings.redis_socket_timeout,
            "socket_connect_timeout": 1.0,
        },
        "task_ignore_result": True,
        "result_backend": None,
        "task_default_queue": JOBS_QUEUE,
        "task_default_priority": PRIORITIES["normal"],
        # A task is acknowledged after it ran, so a worker that dies mid-job gives it back.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_publish_retry_policy": {
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
        "enable_utc": True,
    }


def make_celery(settings: Settings) -> Celery:
    """A Celery app configured for inferq (used to publish and, in tasks/, to consume)."""
    app = Celery("inferq")
    app.conf.update(celery_config(settings))
    return app


@lru_cache
def producer_app() -> Celery:
    """The process-wide Celery app the API publishes with."""
    return make_celery(get_settings())


def enqueue_job(record: JobRecord) -> None:
    """Hand a stored job to the workers: the message carries only the job id."""
    producer_app().send_task(
        SCORE_JOB_TASK,
        args=[record.id],
        queue=JOBS_QUEUE,
        priority=PRIORITIES.get(record.priority, PRIORITIES["normal"]),
    )


def enqueue_chunk(record: JobRecord, index: int, spec: dict[str, Any]) -> None:
    """Hand one chunk of a file job to the workers: job id, chunk index and where it lies."""
    producer_app().send_task(
        SCORE_CHUNK_TASK,
        args=[record.id, index, spec],
        queue=BULK_QUEUE,
        priority=PRIORITIES.get(record.priority, PRIORITIES["normal"]),
    )


def enqueue_split(record: JobRecord) -> None:
    """Ask a worker to cut a file job's `input_uri` into chunks and queue them."""
    producer_app().send_task(
        SPLIT_INPUT_TASK,
        args=[record.id],
        queue=BULK_QUEUE,
        priority=PRIORITIES.get(record.priority, PRIORITIES["normal"]),
    )


def enqueue_shadow_chunk(record: JobRecord, index: int, spec: dict[str, Any], rows: int) -> None:
    """Ask a worker to score a scored chunk again with the job's shadow version, after all
    real work (the lowest priority); it is shed if it waits too long."""
    producer_app().send_task(
        SHADOW_CHUNK_TASK,
        args=[record.id, index, spec, rows, time.time()],
        queue=BULK_QUEUE,
        priority=SHADOW_PRIORITY,
    )
