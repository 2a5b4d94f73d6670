"""Native thread pools sized so that a worker's processes do not oversubscribe the cores.

Each prefork process would otherwise start an OpenMP/BLAS thread per core, and N processes with
N threads each spin against each other (HistGradientBoosting slows down by half).

OpenMP's thread count is a setting of each thread: a thread started by Python starts at one
OpenMP thread per core, whatever the process's main thread was limited to. Threads that score
(the small-job batcher) run through `limited`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
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


def native_threads() -> int:
    """OpenMP and BLAS threads for one of this worker's processes: its share of the cores."""
    return get_settings().worker_threads or max(1, (os.cpu_count() or 1) // _processes["count"])


@worker_process_init.connect
def limit_native_threads(**_: Any) -> None:
    """Give each process its share of the cores for OpenMP and BLAS."""
    threads = native_threads()
    threadpool_limits(threads)
    log.info("native thread pools limited to %d per process", threads)


def limited(target: Callable[[], None]) -> Callable[[], None]:
    """`target`, run with this process's share of native threads in the thread that calls it.

    Without it, a scoring thread of each of two processes on two busy cores runs
    HistGradientBoosting on two OpenMP threads that spin against each other: ~5x the CPU of a
    1,000-row predict.
    """

    def run() -> None:
        threadpool_limits(native_threads())
        target()

    return run
