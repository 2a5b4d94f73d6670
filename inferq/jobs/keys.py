"""Redis key layout of job state. Every key of a job starts with ``inferq:job:<id>``."""

from __future__ import annotations

PREFIX = "inferq"
EVENTS_CHANNEL = f"{PREFIX}:events"
WORKERS_ZSET = f"{PREFIX}:workers"


def job(job_id: str) -> str:
    """The hash holding the job record."""
    return f"{PREFIX}:job:{job_id}"


def job_input(job_id: str) -> str:
    """The inline input rows of a JSON job (columns/data JSON)."""
    return f"{PREFIX}:job:{job_id}:input"


def job_result(job_id: str) -> str:
    """The inline scored rows of a JSON job (columns/data JSON)."""
    return f"{PREFIX}:job:{job_id}:result"


def job_errors(job_id: str) -> str:
    """The per-row errors of a job (JSON list)."""
    return f"{PREFIX}:job:{job_id}:errors"


def job_events(job_id: str) -> str:
    """The stream of the job's status and progress changes (for SSE and history)."""
    return f"{PREFIX}:job:{job_id}:events"


def job_chunks_done(job_id: str) -> str:
    """Set of the chunk indexes of a file job already scored (each counted once)."""
    return f"{PREFIX}:job:{job_id}:chunks_done"


def tenant_jobs(tenant: str) -> str:
    """Sorted set of a tenant's job ids scored by creation time in milliseconds."""
    return f"{PREFIX}:jobs:{tenant}"


def all_job_keys(job_id: str) -> list[str]:
    """Every key a job owns in Redis."""
    return [
        job(job_id),
        job_input(job_id),
        job_result(job_id),
        job_errors(job_id),
        job_events(job_id),
        job_chunks_done(job_id),
    ]
