"""File job tasks: thin entry points that hand job ids and chunk indexes to worker code."""

from __future__ import annotations

from typing import Any

from inferq.queue import SCORE_CHUNK_TASK, SHADOW_CHUNK_TASK, SPLIT_INPUT_TASK
from tasks.app import celery_app
from workers.context import current_context
from workers.file_inputs import split_input
from workers.file_jobs import run_chunk_task
from workers.job_metrics import record_job_end
from workers.priority import lower_task_thread_priority
from workers.shadow_chunks import run_shadow_chunk


@celery_app.task(name=SCORE_CHUNK_TASK)
def score_chunk(job_id: str, index: int, spec: dict[str, Any]) -> None:
    """Score one chunk of a file job; safe to run again for the same chunk. The task that
    ends the job counts its rows and latencies."""
    ctx = current_context()
    lower_task_thread_priority(ctx.settings.bulk_niceness)
    run_chunk_task(job_id, index, spec, ctx)
    record_job_end(ctx, job_id)


@celery_app.task(name=SPLIT_INPUT_TASK)
def split_input_task(job_id: str) -> None:
    """Cut a file job's `input_uri` into chunks and queue them."""
    ctx = current_context()
    lower_task_thread_priority(ctx.settings.bulk_niceness)
    split_input(job_id, ctx)
    record_job_end(ctx, job_id)  # a file that cannot be cut fails its job here


@celery_app.task(name=SHADOW_CHUNK_TASK)
def shadow_chunk(
    job_id: str, index: int, spec: dict[str, Any], rows: int, queued_at: float
) -> None:
    """Score a chunk again with the job's shadow version and compare (or shed it)."""
    ctx = current_context()
    lower_task_thread_priority(ctx.settings.bulk_niceness)
    run_shadow_chunk(job_id, index, spec, rows, queued_at, ctx)
