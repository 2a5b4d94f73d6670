"""Taking in a file job: a raw body (options in the query) or a form's `file` part, once per
Idempotency-Key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Request

from api.admission import Admission
from api.submit.file_job import submit_file
from api.submit.file_options import options_from_fields
from api.submit.multipart import open_multipart
from api.submit.upload_idempotency import FileUpload, UploadKey, submit_file_once
from inferq.files.formats import FileFormat
from inferq.jobs.record import JobRecord


async def take_in_upload(
    request: Request, fmt: FileFormat | None, admission: Admission, idempotency_key: str | None
) -> tuple[JobRecord, bool]:
    """Store the upload's job and queue its chunks as they stream in; returns it and whether it
    is new (False: the job of an earlier upload of the same key and bytes)."""
    state = request.app.state

    async def submit(upload: FileUpload) -> JobRecord:
        return await submit_file(
            upload.body, upload.fmt, upload.options, admission, state.settings, state.store,
            state.registry,
        )  # fmt: skip

    if idempotency_key is None:
        async with open_upload(request, fmt, admission) as upload:
            return await submit(upload), True
    key = UploadKey(state.store, admission.principal.tenant, idempotency_key)
    return await submit_file_once(key, open_upload(request, fmt, admission), submit)


@asynccontextmanager
async def open_upload(
    request: Request, fmt: FileFormat | None, admission: Admission
) -> AsyncIterator[FileUpload]:
    """A raw file body (options in the query) or, without a file format, a form's file."""
    if fmt is None:
        async with open_multipart(request, admission.stream(request)) as upload:
            yield upload
        return
    options = options_from_fields(request.query_params.multi_items(), "query")
    yield FileUpload(fmt, options, admission.stream(request))
