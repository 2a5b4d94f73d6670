"""Running a task's work again when Redis goes away in the middle of it.

A Redis restart must not end a task with an error: Celery would acknowledge it (it ran) and the
work it stood for (a chunk, a job) would never be done. Work handed to this module is idempotent,
so it simply runs again from the start once Redis answers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from inferq.redis_client import REDIS_UNAVAILABLE

log = logging.getLogger(__name__)
PAUSE_SECONDS = 1.0
#: How long a task waits for Redis before it ends with the error after all.
PATIENCE_SECONDS = 3600.0


def outlive_redis_outages(
    work: Callable[[], None], what: str, patience: float = PATIENCE_SECONDS
) -> None:
    """Run `work` until it ends without Redis being unavailable, for `patience` seconds at most.

    Meanwhile the worker keeps renewing the task's message, so no other worker takes it.
    """
    give_up = time.monotonic() + patience
    while True:
        try:
            work()
            return
        except REDIS_UNAVAILABLE as exc:
            if time.monotonic() > give_up:
                raise
            log.warning("Redis unavailable during %s (%s); running it again", what, exc)
            time.sleep(PAUSE_SECONDS)
