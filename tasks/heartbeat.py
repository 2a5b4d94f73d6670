"""Worker liveness for `/readyz`: the worker's main process stamps a sorted set periodically."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from celery.signals import worker_ready, worker_shutdown

from inferq.config import get_settings
from inferq.jobs.keys import WORKERS_ZSET
from inferq.redis_client import REDIS_UNAVAILABLE, make_redis

_stop = threading.Event()


def _beat(hostname: str) -> None:
    settings = get_settings()
    client = make_redis(settings)
    while not _stop.is_set():
        # While Redis restarts a beat is lost; the next one announces us again.
        with contextlib.suppress(*REDIS_UNAVAILABLE):
            client.zadd(WORKERS_ZSET, {hostname: time.time()})
        _stop.wait(settings.worker_heartbeat_seconds)


@worker_ready.connect
def start_heartbeat(sender: Any = None, **_: Any) -> None:
    """Announce this worker every heartbeat period until it shuts down."""
    hostname = getattr(sender, "hostname", "worker")
    threading.Thread(target=_beat, args=(hostname,), name="inferq-heartbeat", daemon=True).start()


@worker_shutdown.connect
def stop_heartbeat(sender: Any = None, **_: Any) -> None:
    """Withdraw this worker's announcement so `/readyz` stops counting it at once."""
    _stop.set()
    with contextlib.suppress(*REDIS_UNAVAILABLE):
        make_redis(get_settings()).zrem(WORKERS_ZSET, getattr(sender, "hostname", "worker"))
