"""Scoring one chunk of a file job, and ending the job when its last chunk is scored.

A chunk handed out twice changes nothing (its outputs are the same, the ledger counts it once).
A chunk asks the job's status before each predict slice: once the job is `cancelling` it stops
there, keeps the rows it scored as a shorter part, and the last chunk to stop ends the job
`cancelled`.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

from inferq.jobs.chunks import ChunkLedger
from inferq.jobs.keys import job_chunk_attempts as chunk_attempts_key
from inferq.jobs.record import JobRecord, JobStatus
from inferq.keyring import DecryptionFailed
from inferq.queue import enqueue_shadow_chunk
from inferq.redis_client import REDIS_UNAVAILABLE
from inferq.timefmt import now_rfc3339
from inferq.usage.counting import UsageEntry, cpu_us
from models.artifacts import ArtifactError
from models.registry import ModelNotFound
from workers.chunk_outputs import ScoredChunk, release_memory, score_chunk, write_part
from workers.context import WorkerContext
from workers.redis_outages import outlive_redis_outages

log = logging.getLogger(__name__)


class ChunkRun:
    """One run of one chunk task: the job, the chunk, and this process as its owner."""

    def __init__(self, job_id: str, index: int, ctx: WorkerContext) -> None:
        self.job_id = job_id
        self.index = index
        self.ctx = ctx
        self.ledger = ChunkLedger(ctx.store.redis, ctx.settings.retention_seconds)
        # Per run, not per import: pool processes are forked after this module is imported.
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self.stopped_by = JobStatus.RUNNING.value
        self.start_counted = False
        """This task's start was counted (a run again after a Redis outage is the same start)."""

    def count_start(self) -> int:
        """Count a start of the chunk (once per task); more than one means a worker died on it
        before. Returns the chunk's starts so far."""
        key = chunk_attempts_key(self.job_id)
        pipe = self.ctx.store.redis.pipeline(transaction=False)
        pipe.hincrby(key, str(self.index), 0 if self.start_counted else 1)
        pipe.expire(key, self.ctx.settings.retention_seconds)
        starts = int(pipe.execute()[0])
        self.start_counted = True
        return starts

    def keep_going(self, rows_scored: int) -> bool:
        """Before each predict slice: report progress, and go on only while the job runs."""
        status = self.ledger.report_progress(self.job_id, self.index, self.owner, rows_scored)
        if status != JobStatus.RUNNING:
            self.stopped_by = status
            return False
        return True

    def leave(self) -> None:
        """Stop without output; end the job `cancelled` if it waited only for this chunk."""
        if self.ledger.leave_chunk(self.job_id, self.index):
            self.ctx.store.finish_cancel(self.job_id)

    def fail(self, code: str, message: str) -> None:
        """The job fails because of this chunk."""
        self.ctx.store.fail(self.job_id, code, message)
        self.ledger.leave_chunk(self.job_id, self.index)

    def finish(self, rows_done: int, rows_failed: int, usage: UsageEntry | None = None) -> None:
        """Count the chunk's rows and usage once; end the job when it was the last chunk to
        finish."""
        outcome = self.ledger.finish_chunk(
            self.job_id, self.index, rows_done, rows_failed, usage, self.ctx.usage.ttl_seconds
        )
        if outcome.complete:
            end_file_job(self.job_id, self.ctx)
        elif outcome.idle_cancelling:
            self.ctx.store.finish_cancel(self.job_id)


def run_chunk(
    job_id: str, index: int, spec: dict[str, Any], ctx: WorkerContext, run: ChunkRun | None = None
) -> None:
    """Score chunk `index` of a file job unless the job has ended; end the job after the last.

    `run` carries what an earlier try of the same task did (see `run_chunk_task`).
    """
    run = run or ChunkRun(job_id, index, ctx)
    record = ctx.store.claim(job_id)
    if record is None or not run.ledger.start_chunk(job_id, index, run.owner):
        log.info("job %s is not running; skipping chunk %d", job_id, index)
        run.leave()
        return
    if run.ledger.is_done(job_id, index):
        run.finish(0, 0)  # scored and counted before: this is a redelivery, or the closing call
        return
    if run.count_start() > ctx.settings.max_attempts:
        run.fail("worker_lost", f"chunk {index} lost its worker {ctx.settings.max_attempts} times")
        return
    chunk = score_or_fail(run, record, spec)
    if chunk is None:
        return
    if not chunk.whole and (chunk.rows_done == 0 or run.stopped_by != JobStatus.CANCELLING):
        run.leave()  # stopped before any row, or the job failed or went away: nothing to keep
        return
    write_part(job_id, index, chunk, ctx)
    counts = chunk.rows_done, chunk.rows_failed
    usage = ctx.usage.entry(
        record.tenant,
        record.model_name,
        rows_scored=chunk.rows_done,
        rows_failed=chunk.rows_failed,
        cpu_us=cpu_us(chunk.cpu_seconds),
    )
    whole = chunk.whole
    del chunk
    release_memory()
    run.finish(*counts, usage)
    if record.shadow_version is not None and whole:
        enqueue_shadow_chunk(record, index, spec, counts[0])


def run_chunk_task(job_id: str, index: int, spec: dict[str, Any], ctx: WorkerContext) -> None:
    """`run_chunk`, run again from the start when Redis went away meanwhile (it is idempotent)."""
    run = ChunkRun(job_id, index, ctx)
    outlive_redis_outages(
        lambda: run_chunk(job_id, index, spec, ctx, run), f"chunk {index} of job {job_id}"
    )


def score_or_fail(run: ChunkRun, record: JobRecord, spec: dict[str, Any]) -> ScoredChunk | None:
    """The chunk's scored rows, or None when scoring it failed the job."""
    try:
        return score_chunk(record, run.index, spec, run.ctx, run.keep_going)
    except REDIS_UNAVAILABLE:
        raise  # not the chunk's fault: the task runs it again once Redis answers
    except DecryptionFailed as exc:
        log.error("chunk %d of job %s: %s", run.index, run.job_id, exc)
        run.fail("decryption_failed", str(exc))
    except (ModelNotFound, ArtifactError) as exc:
        run.fail("model_unavailable", str(exc))
    except FileNotFoundError as exc:
        run.fail("input_missing", f"the job's input is gone: {exc}")
    except Exception as exc:  # the model itself raised: the job fails, the worker goes on
        log.exception("scoring chunk %d of job %s failed", run.index, run.job_id)
        run.fail("scoring_failed", f"{type(exc).__name__}: {exc}")
    return None


def end_file_job(job_id: str, ctx: WorkerContext) -> None:
    """Every chunk is scored: the job succeeds, or fails when too many rows failed; a job
    cancelled after its last slice ends `cancelled` (with every row)."""
    record = ctx.store.get(job_id)
    if record is None:
        return
    if record.status == JobStatus.RUNNING and _end_scored_job(record, ctx):
        log.info(
            "file job %s ended: %d rows scored, %d rows failed",
            job_id, record.rows_done, record.rows_failed,
            extra={"job_id": job_id, "tenant": record.tenant},
        )  # fmt: skip
        return
    if ctx.store.finish_cancel(job_id):
        log.info("file job %s cancelled", job_id, extra={"job_id": job_id})


def _end_scored_job(record: JobRecord, ctx: WorkerContext) -> bool:
    """Succeed or fail a running job whose chunks are all scored; False if it was not running."""
    total = record.rows_done + record.rows_failed
    if total and record.rows_failed / total > record.max_error_rate:
        message = (
            f"{record.rows_failed} of {total} rows failed, more than the job's "
            f"max_error_rate of {record.max_error_rate}; see the job's errors"
        )
        return ctx.store.transition(
            record.id,
            [JobStatus.RUNNING],
            JobStatus.FAILED,
            error={"code": "too_many_bad_rows", "message": message},
            rows_total=total,
            finished_at=now_rfc3339(),
        )
    return ctx.store.succeed(record.id, record.rows_done, record.rows_failed, rows_total=total)
