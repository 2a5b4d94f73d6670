"""Idempotency-Key: the same key with the same body returns the first job, another body is 409.

A key's Redis value is `<digest>:<job id>` once its job exists. While a JSON request creates its
job the value is `<digest>:pending`; while a file upload streams in (its digest is known only at
its end) the value is `uploading:<token>` (see `api.upload_idempotency`).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable

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
    return _found(store.get(_job_of(value, digest)))


async def earlier_job_async(store: JobStore, value: str, digest: str) -> JobRecord:
    """`earlier_job` on the async client."""
    assert store.aredis is not None, "the API's JobStore has an async client"
    stored = await store.aredis.hgetall(keys.job(_job_of(value, digest)))
    return _found(JobRecord.from_hash(stored) if stored else None)


def _job_of(value: str, digest: str) -> str:
    seen_digest, _, job_id = value.partition(":")
    if seen_digest != digest:
        raise Problem(
            409,
            "this Idempotency-Key was used with a different request body",
            title="Conflict",
            kind=REUSED,
        )
    return job_id


def _found(record: JobRecord | None) -> JobRecord:
    if record is None:
        raise Problem(409, "the job of this Idempotency-Key was deleted", title="Conflict")
    return record


async def create_once(
    store: JobStore,
    tenant: str,
    key: str,
    digest: str,
    create: Callable[[], Awaitable[JobRecord]],
) -> tuple[JobRecord, bool]:
    """The job this key created before, or a new one from `create`; True when it is new."""
    check_key(key)
    client = store.aredis
    assert client is not None, "the API's JobStore has an async client"
    redis_key = keys.idempotency(tenant, key)
    if await client.set(redis_key, f"{digest}:{_PENDING}", nx=True, ex=store.record_ttl):
        try:
            record = await create()
        except BaseException:
            await client.delete(redis_key)  # the key may be used again once this failed
            raise
        await client.set(redis_key, f"{digest}:{record.id}", ex=store.record_ttl)
        return record, True
    return await _wait_for_earlier_job(store, redis_key, digest), False


async def _wait_for_earlier_job(store: JobStore, redis_key: str, digest: str) -> JobRecord:
    assert store.aredis is not None
    deadline = time.monotonic() + _CONCURRENT_WAIT_SECONDS
    while True:
        raw = await store.aredis.get(redis_key)
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
            return await earlier_job_async(store, value, digest)
        await asyncio.sleep(0.05)
