"""Taking in a job by its Content-Type: JSON rows or `input_uri`, a raw file, or a form."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from api.body_stream import limited_stream, read_limited_body
from api.deps import Principal, RequestToken
from api.file_options import options_from_fields
from api.file_submission import submit_file
from api.idempotency import body_digest, create_once
from api.multipart_upload import open_multipart
from api.submission import parse_job_body, submit_json_job
from api.upload_idempotency import FileUpload, UploadKey, submit_file_once
from api.uri_submission import submit_uri_job
from inferq.config import Settings
from inferq.files.formats import FileFormat, format_of_media
from inferq.jobs.idempotency import IdempotencyMark
from inferq.jobs.record import JobRecord
from inferq.jobs.store import JobStore
from inferq.limits import TenantLimits
from models.registry import ModelRegistry


async def take_in_job(
    request: Request,
    principal: Principal,
    settings: Settings,
    store: JobStore,
    registry: ModelRegistry,
    limits: TenantLimits,
    idempotency_key: str | None,
    token: RequestToken,
) -> tuple[JobRecord, bool]:
    """Store and queue the job a POST describes, whatever form its input takes.

    Returns the job and whether it is new (False: an earlier job of the same Idempotency-Key).
    The request's rate token is taken before a file is read, and by the submission script of
    a JSON job.
    """
    content_type = request.headers.get("content-type", "")
    fmt = format_of_media(content_type)
    if fmt is not None or content_type.lower().startswith("multipart/form-data"):
        await token.take()
        return await _take_in_file(
            request, fmt, principal, settings, store, registry, limits, idempotency_key
        )
    raw = await read_limited_body(request, settings.max_body_bytes)
    job = parse_job_body(raw)

    async def create(idempotency: IdempotencyMark | None = None) -> JobRecord:
        if job.input_uri is None:
            submitter = request.app.state.submitter
            return await submit_json_job(
                job, principal, settings, submitter, registry, idempotency, token
            )
        await token.take()
        return await run_in_threadpool(
            submit_uri_job, job, principal, settings, store, registry, limits, idempotency
        )

    if idempotency_key is None:
        return await create(), True
    return await create_once(store, principal.tenant, idempotency_key, body_digest(raw), create)


async def _take_in_file(
    request: Request,
    fmt: FileFormat | None,
    principal: Principal,
    settings: Settings,
    store: JobStore,
    registry: ModelRegistry,
    limits: TenantLimits,
    idempotency_key: str | None,
) -> tuple[JobRecord, bool]:
    async def submit(upload: FileUpload) -> JobRecord:
        return await submit_file(
            upload.body, upload.fmt, upload.options, principal, settings, store, registry, limits
        )

    if idempotency_key is None:
        async with open_upload(request, settings, fmt) as upload:
            return await submit(upload), True
    key = UploadKey(store, principal.tenant, idempotency_key)
    return await submit_file_once(key, open_upload(request, settings, fmt), submit)


@asynccontextmanager
async def open_upload(
    request: Request, settings: Settings, fmt: FileFormat | None
) -> AsyncIterator[FileUpload]:
    """A raw file body (options in the query) or, without a file format, a form's file."""
    if fmt is None:
        async with open_multipart(request, settings) as upload:
            yield upload
        return
    options = options_from_fields(request.query_params.multi_items(), "query")
    yield FileUpload(fmt, options, limited_stream(request, settings.max_file_bytes))
