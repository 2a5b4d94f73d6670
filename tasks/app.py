"""The Celery app workers run: `celery -A tasks.app:celery_app worker`."""

from __future__ import annotations

from inferq.config import get_settings
from inferq.queue import QUEUES, make_celery

celery_app = make_celery(get_settings())
celery_app.conf.imports = ["tasks.scoring", "tasks.heartbeat", "tasks.files", "tasks.threads"]

__all__ = ["QUEUES", "celery_app"]
