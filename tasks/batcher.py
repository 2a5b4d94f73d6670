"""Starts the small-job batcher thread in each worker process (see workers/batching.py)."""

from __future__ import annotations

import gc
import threading
from typing import Any

from celery.signals import worker_process_init, worker_process_shutdown

from tasks.threads import limited
from workers.batching import Batcher
from workers.context import current_context
from workers.priority import prefer_batcher_for_gil
from workers.shadows import ShadowRunner

_batchers: list[Batcher] = []


@worker_process_init.connect
def start_batcher(**_: Any) -> None:
    """Each pool process scores small jobs in a background thread, if enabled."""
    ctx = current_context()
    if not ctx.settings.inline_batcher:
        return
    batcher = Batcher(ctx)
    _batchers.append(batcher)
    prefer_batcher_for_gil()
    # The ~200k objects of the imports never die: kept out of the collector's full passes, which
    # a batch's thousands of surviving row lists set off every few batches (~100+ ms each on
    # a busy machine: the p99 of 1,000-row requests, issue 19).
    gc.freeze()
    run = limited(batcher.run_forever)
    threading.Thread(target=run, name="inferq-batcher", daemon=True).start()
    shadows = ShadowRunner(ctx)
    run_shadows = limited(lambda: shadows.run_forever(batcher.stop_event))
    threading.Thread(target=run_shadows, name="inferq-shadow", daemon=True).start()


@worker_process_shutdown.connect
def stop_batcher(**_: Any) -> None:
    """Let the batcher finish its current batch and stop."""
    for batcher in _batchers:
        batcher.stop_event.set()
