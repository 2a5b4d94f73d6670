"""Native thread pools sized so that a worker's processes do not oversubscribe the cores.

Each prefork process would otherwise start an OpenMP/BLAS thread per core, and N processes with
N threads each spin against each other (HistGradientBoosting slows down by half).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery.signals import worker_init, worker_process_init
from threadpoolctl import threadpool_limits

from inferq.config import get_settings

log = logging.getLogger(__name__)
_processes = {"count": 1}


@worker_init.connect
def remember_concurrency(sender: Any = None, **_: Any) -> None:
    """Note how many processes this worker runs (before they are forked)."""
    _processes["count"] = max(1, int(getattr(sender, "concurrency", 1) or 1))


@worker_process_init.connect
def limit_native_threads(**_: Any) -> None:
    """Give each process its share of the cores for OpenMP and BLAS."""
    threads = get_settings().worker_threads or max(1, (os.cpu_count() or 1) // _processes["count"])
    threadpool_limits(threads)
    log.info("native thread pools limited to %d per process", threads)
