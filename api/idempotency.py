"""Idempotency-Key: the same key with the same body returns the first job, another body is 409.

The key is marked with its job in the transaction that creates the job (see
`inferq.jobs.idempotency`), so a request that breaks off, whatever the reason, leaves the key
free for its retry, and two requests racing with one key make one job.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from api.errors import Problem
from inferq.jobs import keys
from inferq.jobs.idempotency import IdempotencyMark, IdempotencyTaken
from inferq.jobs.record import JobRecord
from inferq.jobs.store import JobStore


def body_digest(body: bytes) -> str:
    """The digest that tells a repeated body from a different one."""
    return hashlib.sha256(body).hexdigest()


def create_once(
    store: JobStore,
    tenant: str,
    key: str,
    digest: str,
    create: Callable[[IdempotencyMark], JobRecord],
) -> tuple[JobRecord, bool]:
    """The job this key created before, or a new one from `create`; True when it is new."""
    if not 1 <= len(key) <= 255:
        raise Problem(422, "Idempotency-Key must be 1 to 255 characters")
    mark = IdempotencyMark(keys.idempotency(tenant, key), digest)
    earlier = _earlier_job(store, mark)
    if earlier is not None:
        return earlier, False
    try:
        return create(mark), True
    except IdempotencyTaken:
        # Another request with this key created its job between our look and our transaction.
        earlier = _earlier_job(store, mark)
        if earlier is None:
            raise Problem(
                409, "the job of this Idempotency-Key is already gone", title="Conflict"
            ) from None
        return earlier, False


def _earlier_job(store: JobStore, mark: IdempotencyMark) -> JobRecord | None:
    """The job the key created, None if it created none; 409 for another body or a lost job."""
    raw = store.redis.get(mark.redis_key)
    if raw is None:
        return None
    seen_digest, _, job_id = raw.decode().partition(":")
    if seen_digest != mark.digest:
        raise Problem(
            409, "this Idempotency-Key was used with a different request body", title="Conflict"
        )
    record = store.get(job_id)
    if record is None:
        raise Problem(409, "the job of this Idempotency-Key was deleted", title="Conflict")
    return record
