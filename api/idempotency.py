"""Idempotency-Key: the same key with the same body returns the first job, another body is 409."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from api.errors import Problem
from inferq.jobs import keys
from inferq.jobs.record import JobRecord
from inferq.jobs.store import JobStore

_PENDING = "pending"
#: How long a request waits for a concurrent request with the same key to finish creating.
_CONCURRENT_WAIT_SECONDS = 10.0


def body_digest(body: bytes) -> str:
    """The digest that tells a repeated body from a different one."""
    return hashlib.sha256(body).hexdigest()


def create_once(
    store: JobStore,
    tenant: str,
    key: str,
    digest: str,
    create: Callable[[], JobRecord],
) -> tuple[JobRecord, bool]:
    """The job this key created before, or a new one from `create`; True when it is new."""
    if not 1 <= len(key) <= 255:
        raise Problem(422, "Idempotency-Key must be 1 to 255 characters")
    redis_key = keys.idempotency(tenant, key)
    if store.redis.set(redis_key, f"{digest}:{_PENDING}", nx=True, ex=store.record_ttl):
        try:
            record = create()
        except BaseException:
            store.redis.delete(redis_key)  # the key may be used again once this failed
            raise
        store.redis.set(redis_key, f"{digest}:{record.id}", ex=store.record_ttl)
        return record, True
    return _earlier_job(store, redis_key, digest), False


def _earlier_job(store: JobStore, redis_key: str, digest: str) -> JobRecord:
    deadline = time.monotonic() + _CONCURRENT_WAIT_SECONDS
    while True:
        raw = store.redis.get(redis_key)
        if raw is None:
            raise Problem(
                409, "a request with this Idempotency-Key failed; retry it", title="Conflict"
            )
        seen_digest, _, job_id = raw.decode().partition(":")
        if seen_digest != digest:
            raise Problem(
                409,
                "this Idempotency-Key was used with a different request body",
                title="Conflict",
            )
        if job_id != _PENDING:
            record = store.get(job_id)
            if record is None:
                raise Problem(409, "the job of this Idempotency-Key was deleted", title="Conflict")
            return record
        if time.monotonic() > deadline:
            raise Problem(
                409, "a request with this Idempotency-Key is in progress", title="Conflict"
            )
        time.sleep(0.05)
