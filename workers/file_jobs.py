"""Scoring one chunk of a file job, and ending the job when its last chunk is scored.

A chunk's outputs (its scored part and its errors) are written atomically and are the same
whenever it is scored, so a chunk handed out twice changes nothing; the ledger counts it once.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv

from inferq.files import layout
from inferq.jobs.chunks import ChunkLedger
from inferq.jobs.keys import job_chunk_attempts as chunk_attempts_key
from inferq.jobs.record import JobRecord, JobStatus
from inferq.timefmt import now_rfc3339
from models.artifacts import ArtifactError
from models.registry import ModelNotFound
from workers.chunk_rows import ChunkRows
from workers.context import WorkerContext
from workers.csv_chunks import read_csv_chunk
from workers.jsonl_chunks import read_jsonl_chunk
from workers.parquet_chunks import read_parquet_chunk
from workers.scoring import score_frame

log = logging.getLogger(__name__)


def run_chunk(job_id: str, index: int, spec: dict[str, Any], ctx: WorkerContext) -> None:
    """Score chunk `index` of a file job unless the job has ended; end the job after the last."""
    record = ctx.store.claim(job_id)
    if record is None:
        # Cancelled while running: the first chunk to notice stops the job; scored rows stay.
        ctx.store.finish_cancel(job_id)
        log.info("job %s is not runnable; skipping chunk %d", job_id, index)
        return
    if chunk_attempts(job_id, index, ctx) > ctx.settings.max_attempts:
        message = f"chunk {index} lost its worker {ctx.settings.max_attempts} times"
        ctx.store.fail(job_id, "worker_lost", message)
        return
    ledger = ChunkLedger(ctx.store.redis, ctx.settings.retention_seconds)
    if not ledger.is_done(job_id, index):
        try:
            rows_done, rows_failed = write_chunk_outputs(record, index, spec, ctx)
        except (ModelNotFound, ArtifactError) as exc:
            ctx.store.fail(job_id, "model_unavailable", str(exc))
            return
        except FileNotFoundError as exc:
            ctx.store.fail(job_id, "input_missing", f"the job's input is gone: {exc}")
            return
        except Exception as exc:  # the model itself raised: the job fails, the worker goes on
            log.exception("scoring chunk %d of job %s failed", index, job_id)
            ctx.store.fail(job_id, "scoring_failed", f"{type(exc).__name__}: {exc}")
            return
    else:
        rows_done = rows_failed = 0
    outcome = ledger.finish_chunk(job_id, index, rows_done, rows_failed)
    if outcome.complete:
        end_file_job(job_id, ctx)


def chunk_attempts(job_id: str, index: int, ctx: WorkerContext) -> int:
    """Count a start of chunk `index`; more than one means a worker died on it before."""
    key = chunk_attempts_key(job_id)
    pipe = ctx.store.redis.pipeline(transaction=False)
    pipe.hincrby(key, str(index), 1)
    pipe.expire(key, ctx.settings.retention_seconds)
    return int(pipe.execute()[0])


def write_chunk_outputs(
    record: JobRecord, index: int, spec: dict[str, Any], ctx: WorkerContext
) -> tuple[int, int]:
    """Score a chunk and write its part (and errors) atomically; (rows scored, rows failed)."""
    loaded = ctx.models.get(record.model_name, record.model_version)
    rows = read_chunk(record, index, spec, ctx, loaded.meta.schema)
    scored = score_frame(
        loaded.estimator,
        loaded.meta.schema,
        rows.frame,
        record.outputs,
        record.passthrough,
        ctx.settings.predict_batch_rows,
    )
    table = pa.Table.from_pandas(scored, preserve_index=False)
    with ctx.storage.open_atomic(layout.csv_part_key(record.id, index)) as handle:
        pacsv.write_csv(table, handle, pacsv.WriteOptions(include_header=False))
    # The Arrow part is written last: its presence says the chunk's outputs are complete.
    with (
        ctx.storage.open_atomic(layout.part_key(record.id, index)) as handle,
        pa.ipc.new_file(handle, table.schema) as writer,
    ):
        writer.write_table(table)
    if rows.errors:
        ctx.storage.write_bytes(layout.errors_key(record.id, index), orjson.dumps(rows.errors))
    counts = len(scored), rows.failed
    del rows, scored, table
    # Hand Arrow's freed chunk buffers back, so a long job's peak memory stays one chunk's worth.
    pa.default_memory_pool().release_unused()
    return counts


def read_chunk(
    record: JobRecord, index: int, spec: dict[str, Any], ctx: WorkerContext, schema: Any
) -> ChunkRows:
    """The rows of one chunk, whatever the job's input format."""
    if record.input_format == "parquet":
        url = record.input_location or ""
        return read_parquet_chunk(
            url, spec["row_groups"], spec["first_row"], schema, record.passthrough
        )
    data = ctx.storage.read_bytes(layout.chunk_key(record.id, index))
    if record.input_format == "jsonl":
        return read_jsonl_chunk(data, spec["first_line"], schema, record.passthrough)
    header = ctx.storage.read_bytes(layout.header_key(record.id))
    return read_csv_chunk(header, data, spec["first_line"], schema, record.passthrough)


def end_file_job(job_id: str, ctx: WorkerContext) -> None:
    """Every chunk is scored: the job succeeds, or fails when too many rows failed."""
    record = ctx.store.get(job_id)
    if record is None or record.status != JobStatus.RUNNING:
        return
    total = record.rows_done + record.rows_failed
    if total and record.rows_failed / total > record.max_error_rate:
        message = (
            f"{record.rows_failed} of {total} rows failed, more than the job's "
            f"max_error_rate of {record.max_error_rate}; see the job's errors"
        )
        ctx.store.transition(
            job_id,
            [JobStatus.RUNNING],
            JobStatus.FAILED,
            error={"code": "too_many_bad_rows", "message": message},
            rows_total=total,
            finished_at=now_rfc3339(),
        )
        return
    ctx.store.succeed(job_id, record.rows_done, record.rows_failed, rows_total=total)
