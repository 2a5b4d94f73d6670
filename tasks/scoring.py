"""Scoring tasks: thin entry points that hand job ids to worker code."""

from __future__ import annotations

from inferq.logs import log_context
from inferq.queue import SCORE_JOB_TASK
from tasks.app import celery_app
from workers.context import current_context
from workers.inline_jobs import run_inline_job
from workers.job_metrics import record_job_end
from workers.redis_outages import outlive_redis_outages


@celery_app.task(name=SCORE_JOB_TASK)
def score_job(job_id: str) -> None:
    """Score a stored JSON job; safe to run again for the same id."""
    ctx = current_context()
    with log_context(job_id=job_id):
        outlive_redis_outages(lambda: run_inline_job(job_id, ctx), f"job {job_id}")
        record_job_end(ctx, job_id)
