"""Taking in a job by its Content-Type: JSON rows or `input_uri`, a raw file, or a form."""

from __future__ import annotations

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from api.body_stream import limited_stream, read_limited_body
from api.deps import Principal
from api.errors import Problem
from api.file_options import options_from_fields
from api.file_submission import submit_file
from api.idempotency import body_digest, create_once
from api.multipart_upload import submit_multipart
from api.submission import parse_job_body, submit_json_job
from api.uri_submission import submit_uri_job
from inferq.config import Settings
from inferq.files.formats import format_of_media
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
    idempotency_key: str | None = None,
) -> tuple[JobRecord, bool]:
    """Store and queue the job a POST describes, whatever form its input takes.

    Returns the job and whether it is new (False: an earlier job of the same Idempotency-Key).
    """
    content_type = request.headers.get("content-type", "")
    fmt = format_of_media(content_type)
    if fmt is not None or content_type.lower().startswith("multipart/form-data"):
        if idempotency_key is not None:
            raise Problem(422, "Idempotency-Key is supported for JSON bodies (rows or input_uri)")
        if fmt is None:
            record = await submit_multipart(request, principal, settings, store, registry, limits)
        else:
            options = options_from_fields(request.query_params.multi_items(), "query")
            body = limited_stream(request, settings.max_file_bytes)
            record = await submit_file(
                body, fmt, options, principal, settings, store, registry, limits
            )
        return record, True
    raw = await read_limited_body(request, settings.max_body_bytes)
    job = parse_job_body(raw)
    submit = submit_uri_job if job.input_uri is not None else submit_json_job

    def create(idempotency: IdempotencyMark | None = None) -> JobRecord:
        return submit(job, principal, settings, store, registry, limits, idempotency)

    if idempotency_key is None:
        return await run_in_threadpool(create), True
    return await run_in_threadpool(
        create_once, store, principal.tenant, idempotency_key, body_digest(raw), create
    )
