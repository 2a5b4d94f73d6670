"""The Celery app workers run: `celery -A tasks.app:celery_app worker`."""

from __future__ import annotations

from inferq.config import get_settings
from inferq.queue import QUEUES, make_celery
from tasks import worker_logging  # noqa: F401 - connects the logging signal before start

celery_app = make_celery(get_settings())
celery_app.conf.imports = [
    "tasks.scoring",
    "tasks.heartbeat",
    "tasks.message_leases",
    "tasks.batcher",
    "tasks.webhooks",
    "tasks.files",
    "tasks.threads",
]

__all__ = ["QUEUES", "celery_app"]
