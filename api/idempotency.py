"""Idempotency-Key: the same key with the same body returns the first job, another body is 409.

A key's Redis value is `<digest>:<job id>` once its job exists. While a JSON request creates its
job the value is `<digest>:pending`; while a file upload streams in (its digest is known only at
its end) the value is `uploading:<token>` (see `api.upload_idempotency`).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from api.errors import Problem
from inferq.jobs import keys
from inferq.jobs.record import JobRecord
from inferq.jobs.store import JobStore

_PENDING = "pending"
UPLOADING = "uploading"
#: Problem types (`https://inferq.dev/problems/<name>`) a client can act on.
IN_PROGRESS = "idempotency-key-in-progress"
REUSED = "idempotency-key-reused"
#: How long a request waits for a concurrent request with the same key to finish creating.
_CONCURRENT_WAIT_SECONDS = 10.0


def body_digest(body: bytes) -> str:
    """The digest that tells a repeated body from a different one."""
    return hashlib.sha256(body).hexdigest()


def check_key(key: str) -> None:
    """422 unless the key has a usable length."""
    if not 1 <= len(key) <= 255:
        raise Problem(422, "Idempotency-Key must be 1 to 255 characters")


def in_progress(value: str) -> bool:
    """Whether a key's value says its first request has not created its job yet."""
    digest, _, job_id = value.partition(":")
    return digest == UPLOADING or job_id == _PENDING


def in_progress_problem() -> Problem:
    """409 for a retry that arrives while the key's first request is still being taken in."""
    return Problem(
        409,
        "a request with this Idempotency-Key is still in progress; retry once it has ended",
        title="Idempotency-Key in use",
        kind=IN_PROGRESS,
    )


def earlier_job(store: JobStore, value: str, digest: str) -> JobRecord:
    """The job a finished request of the key created, if `digest` is its body's; else 409."""
    seen_digest, _, job_id = value.partition(":")
    if seen_digest != digest:
        raise Problem(
            409,
            "this Idempotency-Key was used with a different request body",
            title="Conflict",
            kind=REUSED,
        )
    record = store.get(job_id)
    if record is None:
        raise Problem(409, "the job of this Idempotency-Key was deleted", title="Conflict")
    return record


def create_once(
    store: JobStore,
    tenant: str,
    key: str,
    digest: str,
    create: Callable[[], JobRecord],
) -> tuple[JobRecord, bool]:
    """The job this key created before, or a new one from `create`; True when it is new."""
    check_key(key)
    redis_key = keys.idempotency(tenant, key)
    if store.redis.set(redis_key, f"{digest}:{_PENDING}", nx=True, ex=store.record_ttl):
        try:
            record = create()
        except BaseException:
            store.redis.delete(redis_key)  # the key may be used again once this failed
            raise
        store.redis.set(redis_key, f"{digest}:{record.id}", ex=store.record_ttl)
        return record, True
    return _wait_for_earlier_job(store, redis_key, digest), False


def _wait_for_earlier_job(store: JobStore, redis_key: str, digest: str) -> JobRecord:
    deadline = time.monotonic() + _CONCURRENT_WAIT_SECONDS
    while True:
        raw = store.redis.get(redis_key)
        if raw is None:
            raise Problem(
                409, "a request with this Idempotency-Key failed; retry it", title="Conflict"
            )
        value = raw.decode()
        if value.startswith(f"{UPLOADING}:") or (
            in_progress(value) and time.monotonic() > deadline
        ):
            # An upload may stream for minutes: no point waiting for it here.
            raise in_progress_problem()
        if not in_progress(value):
            return earlier_job(store, value, digest)
        time.sleep(0.05)
