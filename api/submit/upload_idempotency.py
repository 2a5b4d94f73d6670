"""Idempotency-Key for file uploads: the body is hashed as it streams, never held whole.

The key is reserved (`uploading:<token>`, a lease of `LEASE_SECONDS` renewed while pieces arrive)
before the body is read, so a retry that comes while the first upload still streams is told at
once: 409, type `idempotency-key-in-progress`. Once the upload has been taken in, the key holds
the digest of the upload (its format, options and bytes) and the job; a later request's upload
is hashed the same way, its bytes thrown away, and gets the first job (200) or, for other bytes
or options, 409 `idempotency-key-reused`. An upload that fails frees its key for a retry.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from typing import Any

from fastapi.concurrency import run_in_threadpool

from api.schemas import JobOptions
from api.submit.idempotency import (
    UPLOADING,
    check_key,
    earlier_job,
    in_progress,
    in_progress_problem,
)
from inferq.files.formats import FileFormat
from inferq.jobs import keys
from inferq.jobs.record import JobRecord
from inferq.jobs.store import JobStore
from inferq.redis_client import decoded

log = logging.getLogger(__name__)

#: An upload's hold on its key lapses this long after its last renewal (an API process that
#: died mid-upload frees the key by then).
LEASE_SECONDS = 60
RENEW_SECONDS = 10

# Replace (or, with an empty value, delete) the key only while it still holds this upload's lease.
_SWAP = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else
  redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3])) end
return 1
"""


@dataclass(frozen=True)
class FileUpload:
    """A file job's request before its body is read: format, options and the body's pieces."""

    fmt: FileFormat
    options: JobOptions
    body: AsyncIterator[bytes]


class UploadKey:
    """One upload's reservation of an Idempotency-Key in Redis."""

    def __init__(self, store: JobStore, tenant: str, key: str) -> None:
        check_key(key)
        self.store = store
        self.redis_key = keys.idempotency(tenant, key)
        self.lease = f"{UPLOADING}:{uuid.uuid4().hex}"
        self.renewed = 0.0
        self._swap: Any = store.redis.register_script(_SWAP)

    def reserve(self) -> str | None:
        """Take the key for this upload (None), or the value an earlier request left in it."""
        while True:
            if self.store.redis.set(self.redis_key, self.lease, nx=True, ex=LEASE_SECONDS):
                self.renewed = time.monotonic()
                return None
            raw = self.store.redis.get(self.redis_key)
            if raw is not None:  # else it lapsed in between: try again
                return decoded(raw)

    def due(self) -> bool:
        """Whether the lease should be renewed now."""
        return time.monotonic() - self.renewed >= RENEW_SECONDS

    def renew(self) -> None:
        """Keep holding the key while the body still streams in."""
        self.renewed = time.monotonic()
        if not self._swap(keys=[self.redis_key], args=[self.lease, self.lease, LEASE_SECONDS]):
            log.warning("the upload lost its Idempotency-Key %s (lease lapsed)", self.redis_key)

    def complete(self, digest: str, job_id: str) -> None:
        """The upload was taken in: the key names its job from now on."""
        value = f"{digest}:{job_id}"
        if not self._swap(keys=[self.redis_key], args=[self.lease, value, self.store.record_ttl]):
            log.warning("job %s was created but its Idempotency-Key had lapsed", job_id)

    def release(self) -> None:
        """The upload failed: the key may be used again."""
        self._swap(keys=[self.redis_key], args=[self.lease, "", 0])


def upload_digest(upload: FileUpload) -> Any:
    """A SHA-256 started with what the upload asks for; its bytes are added as they come."""
    digest = hashlib.sha256(f"file\0{upload.fmt}\0".encode())
    digest.update(upload.options.model_dump_json().encode() + b"\0")
    return digest


async def hashed(
    body: AsyncIterator[bytes], digest: Any, key: UploadKey | None
) -> AsyncIterator[bytes]:
    """The body's pieces, each added to `digest`; `key`'s lease is renewed as they come."""
    async for piece in body:
        digest.update(piece)
        if key is not None and key.due():
            await run_in_threadpool(key.renew)
        yield piece


async def submit_file_once(
    key: UploadKey,
    opened: AbstractAsyncContextManager[FileUpload],
    submit: Callable[[FileUpload], Awaitable[JobRecord]],
) -> tuple[JobRecord, bool]:
    """The job of an earlier upload with this key and these bytes, or a new one from `submit`.

    Returns the job and whether it is new.
    """
    earlier = await run_in_threadpool(key.reserve)
    if earlier is not None and in_progress(earlier):
        raise in_progress_problem()
    try:
        async with opened as upload:
            digest = upload_digest(upload)
            if earlier is not None:
                async for _ in hashed(upload.body, digest, None):
                    pass
                found = await run_in_threadpool(earlier_job, key.store, earlier, digest.hexdigest())
                return found, False
            record = await submit(replace(upload, body=hashed(upload.body, digest, key)))
    except BaseException:
        if earlier is None:
            # Called directly: in a cancelled request (client gone) an await would not run.
            key.release()
        raise
    await run_in_threadpool(key.complete, digest.hexdigest(), record.id)
    return record, True
