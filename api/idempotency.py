"""Idempotency-Key: the same key with the same body returns the first job, another body is 409."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

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


async def create_once(
    store: JobStore,
    tenant: str,
    key: str,
    digest: str,
    create: Callable[[], Awaitable[JobRecord]],
) -> tuple[JobRecord, bool]:
    """The job this key created before, or a new one from `create`; True when it is new."""
    if not 1 <= len(key) <= 255:
        raise Problem(422, "Idempotency-Key must be 1 to 255 characters")
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
    return await _earlier_job(client, redis_key, digest), False


async def _earlier_job(client: aioredis.Redis, redis_key: str, digest: str) -> JobRecord:
    deadline = time.monotonic() + _CONCURRENT_WAIT_SECONDS
    while True:
        raw = await client.get(redis_key)
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
            stored = await client.hgetall(keys.job(job_id))
            if not stored:
                raise Problem(409, "the job of this Idempotency-Key was deleted", title="Conflict")
            return JobRecord.from_hash(stored)
        if time.monotonic() > deadline:
            raise Problem(
                409, "a request with this Idempotency-Key is in progress", title="Conflict"
            )
        await asyncio.sleep(0.05)
