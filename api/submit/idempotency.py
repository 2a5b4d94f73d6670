"""Idempotency-Key: the same key with the same body returns the first job, another body is 409.

A key's Redis value is `<digest>:<job id>`, written in the same step that creates the job (see
`inferq.jobs.idempotency`): a JSON request that breaks off, whatever the reason, leaves the key
free for its retry, and two requests racing with one key make one job. While a file upload
streams in (its digest is known only at its end) the value is `uploading:<token>`, a lease that
lapses if the upload's API process dies (see `api.submit.upload_idempotency`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from api.errors import Problem
from inferq.jobs import keys
from inferq.jobs.idempotency import IdempotencyMark, IdempotencyTaken
from inferq.jobs.record import JobRecord
from inferq.jobs.store import JobStore
from inferq.redis_client import decoded

UPLOADING = "uploading"
#: Problem types (`https://inferq.dev/problems/<name>`) a client can act on.
IN_PROGRESS = "idempotency-key-in-progress"
REUSED = "idempotency-key-reused"


def body_digest(body: bytes) -> str:
    """The digest that tells a repeated body from a different one."""
    return hashlib.sha256(body).hexdigest()


def check_key(key: str) -> None:
    """422 unless the key has a usable length."""
    if not 1 <= len(key) <= 255:
        raise Problem(422, "Idempotency-Key must be 1 to 255 characters")


def in_progress(value: str) -> bool:
    """Whether a key's value says its first request (an upload) has not created its job yet."""
    return value.startswith(f"{UPLOADING}:")


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
    return _found(await store.get_async(_job_of(value, digest)))


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
    create: Callable[[IdempotencyMark], Awaitable[JobRecord]],
) -> tuple[JobRecord, bool]:
    """The job this key created before, or a new one from `create`; True when it is new."""
    check_key(key)
    mark = IdempotencyMark(keys.idempotency(tenant, key), digest)
    earlier = await _earlier_job(store, mark)
    if earlier is not None:
        return earlier, False
    try:
        return await create(mark), True
    except IdempotencyTaken:
        # Another request with this key created its job between our look and our creation.
        earlier = await _earlier_job(store, mark)
        if earlier is None:
            raise Problem(
                409, "the job of this Idempotency-Key is already gone", title="Conflict"
            ) from None
        return earlier, False


async def _earlier_job(store: JobStore, mark: IdempotencyMark) -> JobRecord | None:
    """The job the key created, None if it created none; 409 for another body, a lost job or
    an upload of the same key still streaming."""
    assert store.aredis is not None, "the API's JobStore has an async client"
    raw = await store.aredis.get(mark.redis_key)
    if raw is None:
        return None
    value = decoded(raw)
    if in_progress(value):
        raise in_progress_problem()
    return await earlier_job_async(store, value, mark.digest)
