"""Bulk work yields the CPU to small interactive jobs scored in the same worker process.

A pool process runs Celery tasks (file chunks) on its main thread and the small-job batcher on
another. Linux schedules threads, not processes, so the task thread is given a higher nice value
than the batcher: while a big file is scored on every core, a one-row job still gets a core at
once. The task thread cannot get its priority back later (raising priority needs privileges), so
it is lowered once, for every task that process will run.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading

log = logging.getLogger(__name__)
_lowered: set[int] = set()

#: How soon (s) a thread waiting for the GIL makes the holder hand it over (Python's default is
#: 5 ms): the batcher thread waits for the GIL at every Redis reply while a chunk is scored.
BATCHER_SWITCH_INTERVAL = 0.001


def lower_task_thread_priority(niceness: int) -> None:
    """Make the calling thread `niceness` steps nicer than it is, once per thread."""
    thread = threading.get_native_id()
    if niceness <= 0 or thread in _lowered or not hasattr(os, "setpriority"):
        return
    _lowered.add(thread)
    with contextlib.suppress(OSError):  # a platform without per-thread priorities: no change
        current = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(19, current + niceness))
        log.info("bulk task thread runs at nice %d", min(19, current + niceness))


def prefer_batcher_for_gil() -> None:
    """Let a batcher thread take the GIL from a scoring task within about a millisecond."""
    sys.setswitchinterval(BATCHER_SWITCH_INTERVAL)
