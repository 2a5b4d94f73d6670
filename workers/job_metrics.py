"""Metrics a worker records when a job or chunk ends (written to Redis, read by `/metrics`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime

from inferq.jobs.keys import job as job_key
from inferq.jobs.record import JobRecord
from inferq.metrics.recorder import combined, counts_write, observations_write, version_write
from inferq.redis_client import Write
from workers.context import WorkerContext
from workers.model_cache import CacheStats


def record_job_end(ctx: WorkerContext, job_id: str) -> None:
    """Count an ended job's rows and latencies (once per job), and this process's cache activity.

    Call it after every task that may have ended a job: an inline job, or each chunk of a file.
    """
    flush_cache_stats(ctx)
    record = ctx.store.get(job_id)
    if record is None or not record.terminal or record.finished_at is None:
        return  # not ended yet (other chunks still run) or gone
    # Several tasks may see the ended job (late chunks, a redelivered task): count it once.
    if not ctx.store.redis.hsetnx(job_key(job_id), "metrics_recorded", 1):
        return
    ctx.metrics.counts({"rows_scored": record.rows_done, "rows_failed": record.rows_failed})
    duration = _seconds(record.created_at, record.finished_at)
    ctx.metrics.observe("job_duration_seconds", duration)
    version = (record.model_name, record.model_version)
    ctx.metrics.send(version_write({version: record.rows_done}, {version: [duration]}))
    if record.started_at:
        ctx.metrics.observe("job_queue_wait_seconds", _wait(record))


def inline_batch_metrics(
    ctx: WorkerContext,
    records: list[JobRecord],
    rows_scored: int,
    batch_sizes: list[int],
    batch_seconds: list[float],
    version_rows: dict[tuple[str, int], int] | None = None,
) -> Write:
    """Metrics of one batch of small jobs (each model version's share counts as a chunk), as
    one write: the batcher sends it in the round trip that ends the jobs. `version_rows`: the
    rows scored per model version (jobs and sync requests)."""
    finished = time.time()
    latencies: dict[tuple[str, int], list[float]] = {}
    for record in records:
        version = (record.model_name, record.model_version)
        latencies.setdefault(version, []).append(finished - _unix(record.created_at))
    return combined(
        version_write(version_rows or {}, latencies),
        _cache_stats_write(ctx),
        counts_write({"rows_scored": rows_scored}),
        observations_write(
            {
                "job_duration_seconds": [finished - _unix(r.created_at) for r in records],
                "job_queue_wait_seconds": [_wait(r) for r in records],
                "batch_rows": [float(size) for size in batch_sizes],
                "chunk_duration_seconds": batch_seconds,
            }
        ),
    )


@contextmanager
def timed_chunk(ctx: WorkerContext) -> Iterator[None]:
    """Observe how long the enclosed scoring of one chunk took."""
    start = time.perf_counter()
    yield
    ctx.metrics.observe("chunk_duration_seconds", time.perf_counter() - start)


def record_batch(ctx: WorkerContext, rows: int) -> None:
    """Observe the size of one vectorized predict call."""
    ctx.metrics.observe("batch_rows", rows)


def flush_cache_stats(ctx: WorkerContext) -> None:
    """Send what the model cache counted since the last flush."""
    ctx.metrics.send(_cache_stats_write(ctx))


def _cache_stats_write(ctx: WorkerContext) -> Write:
    now, before = asdict(ctx.models.stats), asdict(ctx.cache_stats_sent)
    ctx.cache_stats_sent = CacheStats(**now)
    return counts_write({f"model_cache_{name}": now[name] - before[name] for name in now})


def _wait(record: JobRecord) -> float:
    return _seconds(record.created_at, record.started_at or record.created_at)


def _seconds(start: str, end: str) -> float:
    delta = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    return max(0.0, delta.total_seconds())


def _unix(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()
