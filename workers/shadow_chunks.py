"""Scoring one chunk of a file job with its alias's shadow version, after the primary's chunk.

The task is queued at the bulk queue's lowest priority once the primary's part is written, so
every real chunk waiting goes first. One that waited longer than `shadow_max_delay_seconds`
(the workers were busy) is shed and counted. The shadow's part is written beside the job's
parts (`?version=shadow` serves them; they expire with the job), and the comparison with the
primary's part is added to the alias's aggregates.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pyarrow as pa

from inferq.comparison import compare_tables, comparison_write
from inferq.files import layout
from inferq.jobs.record import JobRecord
from inferq.jobs.shadows import shed_field
from inferq.metrics.keys import COUNTERS, counter_field
from workers.chunk_outputs import ScoredChunk, read_chunk, write_part
from workers.context import WorkerContext
from workers.scoring import score_frame

log = logging.getLogger(__name__)


def run_shadow_chunk(
    job_id: str, index: int, spec: dict[str, Any], rows: int, queued_at: float, ctx: WorkerContext
) -> None:
    """Score chunk `index` with the job's shadow version, store it and compare it; shed it
    when it waited too long. Shadow failures never touch the job."""
    record = ctx.store.get(job_id)
    if record is None or record.shadow_version is None:
        return
    if time.time() - queued_at > ctx.settings.shadow_max_delay_seconds:
        field = shed_field(record.model_name, record.shadow_version)
        ctx.store.redis.hincrby(COUNTERS, field, rows)
        return
    try:
        scored = _score(record, index, spec, ctx)
    except Exception:  # the shadow's own failure: logged and counted as shed, the job is fine
        log.exception("shadow of chunk %d of job %s failed", index, job_id)
        field = shed_field(record.model_name, record.shadow_version)
        ctx.store.redis.hincrby(COUNTERS, field, rows)
        return
    write_part(job_id, index, scored, ctx, shadow=True)
    _compare(record, index, spec, scored, ctx)


def _score(record: JobRecord, index: int, spec: dict[str, Any], ctx: WorkerContext) -> ScoredChunk:
    assert record.shadow_version is not None
    loaded = ctx.models.get(record.model_name, record.shadow_version)
    chunk = read_chunk(record, index, spec, ctx, loaded.meta.schema)
    scored = score_frame(
        loaded.estimator,
        loaded.meta.schema,
        chunk.frame,
        record.outputs,
        record.passthrough,
        ctx.settings.predict_batch_rows,
        contributions_method=record.contributions_method,
    )
    return ScoredChunk(scored, chunk.failed, True, chunk.errors)


def _compare(
    record: JobRecord, index: int, spec: dict[str, Any], scored: ScoredChunk, ctx: WorkerContext
) -> None:
    assert record.shadow_version is not None
    key = layout.part_key(record.id, index)
    if not ctx.storage.exists(key):
        return
    with ctx.storage.open_read(key) as handle:
        primary = pa.ipc.open_file(handle).read_all()
    schema = ctx.models.get(record.model_name, record.model_version).meta.schema
    found = compare_tables(
        {"columns": primary.column_names, "data": [list(r.values()) for r in primary.to_pylist()]},
        {"columns": list(scored.scored.columns), "data": scored.scored.to_numpy().tolist()},
        schema.task == "classification",
        record.id,
        first_row(record, spec),
    )
    versions = (record.model_version, record.shadow_version)
    write = comparison_write(record.model_name, record.model_alias or "", versions, found)
    field = counter_field(
        "shadow_rows_scored", model=record.model_name, version=str(record.shadow_version)
    )
    pipe = ctx.store.redis.pipeline(transaction=False)
    write(pipe)
    pipe.hincrby(COUNTERS, field, len(scored.scored))
    pipe.execute()


def first_row(record: JobRecord, spec: dict[str, Any]) -> int:
    """The 0-based row of the file where the chunk starts (CSV: line 2 is row 0)."""
    if "first_row" in spec:
        return int(spec["first_row"])
    return int(spec.get("first_line", 1)) - (2 if record.input_format == "csv" else 1)
