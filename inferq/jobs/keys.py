"""Redis key layout of job state. Every key of a job starts with ``inferq:job:<id>``."""

from __future__ import annotations

PREFIX = "inferq"
EVENTS_CHANNEL = f"{PREFIX}:events"
#: Published on `EVENTS_CHANNEL` as "<job id> deleted" when a job is deleted: API processes then
#: forget what they heard of it.
DELETED = "deleted"
WORKERS_ZSET = f"{PREFIX}:workers"
DEADLINES_ZSET = f"{PREFIX}:deadlines"
EXPIRY_ZSET = f"{PREFIX}:expiry"
#: Sorted set of expired jobs as ``<job id> <tenant>``, scored by when their record is forgotten.
FORGET_ZSET = f"{PREFIX}:forget"
#: Sorted set of file jobs an API process is taking in, scored by when their intake lease ends.
INTAKES_ZSET = f"{PREFIX}:intakes"
#: Sorted set of job ids whose webhook delivery is due, scored by due time in milliseconds.
WEBHOOKS_DUE = f"{PREFIX}:webhooks:due"


def job(job_id: str) -> str:
    """The hash holding the job record."""
    return f"{PREFIX}:job:{job_id}"


def job_input(job_id: str) -> str:
    """The inline input rows of a JSON job (columns/data JSON)."""
    return f"{PREFIX}:job:{job_id}:input"


def job_result(job_id: str) -> str:
    """The inline scored rows of a JSON job (columns/data JSON)."""
    return f"{PREFIX}:job:{job_id}:result"


def job_shadow_result(job_id: str) -> str:
    """The scored rows of a JSON job by its alias's shadow version (columns/data JSON)."""
    return f"{PREFIX}:job:{job_id}:shadow_result"


def job_errors(job_id: str) -> str:
    """The per-row errors of a job (JSON list)."""
    return f"{PREFIX}:job:{job_id}:errors"


def job_events(job_id: str) -> str:
    """The stream of the job's status and progress changes (for SSE and history)."""
    return f"{PREFIX}:job:{job_id}:events"


def job_webhook(job_id: str) -> str:
    """The hash of the job's webhook delivery: event, URL, frozen body, status, counts."""
    return f"{PREFIX}:job:{job_id}:webhook"


def job_webhook_attempts(job_id: str) -> str:
    """The list of the job's webhook delivery attempts (JSON objects, oldest first)."""
    return f"{PREFIX}:job:{job_id}:webhook:attempts"


def webhook_secrets(tenant: str) -> str:
    """Hash of a tenant's webhook signing secrets, by secret id (JSON values)."""
    return f"{PREFIX}:tenant:{tenant}:webhook_secrets"


def job_chunk_attempts(job_id: str) -> str:
    """Hash of how often each chunk of a file job was started (a crash loop is cut short)."""
    return f"{PREFIX}:job:{job_id}:chunk_attempts"


def job_chunks_done(job_id: str) -> str:
    """Set of the chunk indexes of a file job already scored (each counted once)."""
    return f"{PREFIX}:job:{job_id}:chunks_done"


def job_chunks_running(job_id: str) -> str:
    """Hash of the chunks of a file job being scored now: index to `<owner> <rows scored>`."""
    return f"{PREFIX}:job:{job_id}:chunks_running"


def tenant_jobs(tenant: str) -> str:
    """Sorted set of a tenant's job ids scored by creation time in milliseconds."""
    return f"{PREFIX}:jobs:{tenant}"


def all_job_keys(job_id: str) -> list[str]:
    """Every key a job owns in Redis."""
    return [
        job(job_id),
        job_input(job_id),
        job_result(job_id),
        job_shadow_result(job_id),
        job_errors(job_id),
        job_events(job_id),
        job_webhook(job_id),
        job_webhook_attempts(job_id),
        job_chunks_done(job_id),
        job_chunks_running(job_id),
        job_chunk_attempts(job_id),
    ]


def idempotency(tenant: str, key: str) -> str:
    """The job an Idempotency-Key created, with the digest of the body it came with."""
    return f"{PREFIX}:idem:{tenant}:{key}"


def tenant_inflight(tenant: str) -> str:
    """Set of a tenant's unfinished job ids: its jobs in flight, for the admission limit."""
    return f"{PREFIX}:inflight:{tenant}"
