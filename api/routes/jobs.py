"""Jobs: submit, read (with long-polling), list, results, errors and progress events."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from api.deps import (
    JobsRead,
    JobsSubmit,
    JobsWrite,
    RegistryDep,
    StorageDep,
    StoreDep,
    UsageTallyDep,
)
from api.errors import AUTHENTICATED_PROBLEMS, Problem, problem_responses
from api.reads.file_results import all_errors, has_scored_rows, stream_errors, stream_results
from api.reads.jobs import load_job, read_job
from api.reads.results import MEDIA_TYPES, negotiate, render_errors, render_table
from api.routes.openapi_links import link
from api.schemas import JobCreate, JobList, JobPublic
from api.submit.accept import accept_job
from inferq.files import layout
from inferq.ids import JOB_ID_PATTERN
from inferq.jobs.keys import job_events
from inferq.jobs.public import job_public
from inferq.jobs.record import TERMINAL_STATUSES, JobStatus

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], responses=AUTHENTICATED_PROBLEMS)
WaitQuery = Annotated[float, Query(ge=0, description="Seconds to wait for the job to end")]
IncludeQuery = Annotated[
    Literal["results"] | None, Query(description="`results`: inline a small job's scored rows")
]
FormatQuery = Annotated[Literal["json", "csv", "jsonl", "parquet"] | None, Query(alias="format")]
_TABLE_CONTENT = {
    "description": "The rows in the asked format",
    "content": {media.split(";")[0]: {} for media in MEDIA_TYPES.values()},
}
_FILE = {"schema": {"type": "string", "format": "binary"}}
_JOB = "/v1/jobs/{job_id}"
_JOB_ID = "$response.body#/id"
#: What a client can do next with the job in a submission's answer.
_JOB_LINKS = {
    "GetJob": link(_JOB, "get", "Poll the job (`?wait=` waits for its end)", job_id=_JOB_ID),
    "GetJobResults": link(f"{_JOB}/results", "get", "Download its scored rows", job_id=_JOB_ID),
    "GetJobErrors": link(f"{_JOB}/errors", "get", "Its per-row errors", job_id=_JOB_ID),
    "GetJobEvents": link(f"{_JOB}/events", "get", "Follow its progress", job_id=_JOB_ID),
    "ListJobDeliveries": link(f"{_JOB}/deliveries", "get", "Its webhooks", job_id=_JOB_ID),
    "CancelJob": link(f"{_JOB}/cancel", "post", "Cancel it", job_id=_JOB_ID),
    "DeleteJob": link(_JOB, "delete", "Delete it and its files", job_id=_JOB_ID),
}
_ENDED_JOB = {
    "description": "The job has ended within `?wait=`, or the Idempotency-Key names an earlier job",
    "model": JobPublic,
    "links": _JOB_LINKS,
}
_FILE_TYPES = ("text/csv", "application/vnd.apache.parquet", "application/x-ndjson")
_JOB_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/JobCreate"}},
            **dict.fromkeys(_FILE_TYPES, _FILE),
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "model": {"type": "string", "description": "Other job options alike"},
                        "format": {"enum": ["csv", "parquet", "jsonl"]},
                    },
                    "required": ["file", "model"],
                },
                "encoding": {"file": {"contentType": ", ".join(_FILE_TYPES)}},
            },
        },
    }
}


@router.post(
    "",
    status_code=202,
    response_model=JobPublic,
    openapi_extra=_JOB_BODY,
    summary="Submit a job",
    responses={200: _ENDED_JOB, 202: {"links": _JOB_LINKS}, **problem_responses(404, 409, 413)},
)
async def create_job(
    request: Request,
    principal: JobsSubmit,
    response: Response,
    wait: WaitQuery = 0,
    include: IncludeQuery = None,
    idempotency_key: Annotated[
        str | None,
        Header(
            description="Retry safely: the same key with the same body (or uploaded file) "
            "returns the first job; another body, or a first request still in progress, is 409"
        ),
    ] = None,
) -> JobPublic:
    """Accept rows or a file for a model; answers 202 with the queued job and its `Location`.

    With `?wait=` the answer waits for the job to end (200 with the ended job) for at most that
    many seconds; with `?include=results` an ended small job carries its scored rows too.
    (`api.lane` answers most JSON submissions before this route: same answers, less
    overhead.)
    """
    accepted = await accept_job(request, principal, idempotency_key, wait, include)
    response.headers["Location"] = accepted.job["links"]["self"]
    response.status_code = accepted.status
    return JobPublic.model_validate(accepted.job)


@router.get("", response_model=JobList, summary="List jobs")
async def list_jobs(
    principal: JobsRead,
    store: StoreDep,
    request: Request,
    status: JobStatus | None = None,
    model: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(pattern=JOB_ID_PATTERN)] = None,
) -> JobList:
    """The caller's jobs, newest first, optionally filtered by status and model name."""
    records = await run_in_threadpool(
        store.list_records, principal.tenant, limit + 1, cursor, status, model
    )
    page = records[:limit]
    base = str(request.base_url)
    next_cursor = page[-1].id if len(records) > limit else None
    return JobList(data=[job_public(r, base) for r in page], next_cursor=next_cursor)


@router.get(
    "/{job_id}",
    response_model=JobPublic,
    summary="Show a job (optionally long-poll)",
    responses=problem_responses(404),
)
async def get_job(
    job_id: str,
    request: Request,
    principal: JobsRead,
    wait: WaitQuery = 0,
    include: IncludeQuery = None,
) -> JobPublic:
    """The job; with `?wait=` the answer comes when the job ends or the time is up.

    (`api.lane` answers most reads before this route: same answers, less overhead.)
    """
    job = await read_job(request, principal, job_id, wait, include, counted=True)
    return JobPublic.model_validate(job)


@router.get(
    "/{job_id}/results",
    summary="Download the scored rows",
    responses={200: _TABLE_CONTENT, **problem_responses(404, 409, 410)},
)
async def get_results(
    job_id: str,
    principal: JobsRead,
    store: StoreDep,
    registry: RegistryDep,
    tally: UsageTallyDep,
    fmt: FormatQuery = None,
    accept: Annotated[str | None, Header()] = None,
    version: Annotated[
        Literal["primary", "shadow"],
        Query(description="`shadow`: the rows as the alias's shadow version scored them"),
    ] = "primary",
) -> Response:
    """Scored rows in input order; 409 until the job has ended with rows to serve. With
    `?version=shadow`, the shadow version's (404 for a job without one; 409 until scored)."""
    record = await load_job(store, job_id, principal.tenant)
    shadow = version == "shadow"
    if shadow and record.shadow_version is None:
        raise Problem(404, f"job {job_id} has no shadow version", title="No shadow")
    if record.visible_status(time.time()) == JobStatus.EXPIRED:
        raise Problem(410, f"job {job_id} has expired; its results were deleted")
    if record.status not in (JobStatus.SUCCEEDED, JobStatus.CANCELLED, JobStatus.FAILED):
        raise Problem(409, f"job {job_id} is {record.status.value}; results come when it ends")
    chosen = negotiate(fmt, accept)
    if record.input_kind == "file":
        storage = registry.storage
        if not await run_in_threadpool(has_scored_rows, storage, record, shadow):
            raise Problem(409, f"job {job_id} is {record.status.value} and has no scored rows")
        parts = stream_results(storage, record, chosen, shadow)
        return StreamingResponse(
            tally.counted(parts, record.tenant, record.model_name),
            media_type=MEDIA_TYPES[chosen],
            headers=_download(job_id, chosen),
        )
    read = store.read_shadow_result if shadow else store.read_inline_result
    raw = await run_in_threadpool(read, job_id)
    if raw is None:
        if shadow:
            raise Problem(409, f"job {job_id} has no shadow rows: not scored yet, or shed")
        raise Problem(409, f"job {job_id} is {record.status.value} and has no scored rows")
    body = await run_in_threadpool(render_table, raw, chosen)
    tally.add(record.tenant, record.model_name, bytes_out=len(body))
    return Response(body, media_type=MEDIA_TYPES[chosen], headers=_download(job_id, chosen))


@router.post(
    "/{job_id}/cancel",
    response_model=JobPublic,
    summary="Cancel a job",
    responses=problem_responses(404),
)
async def cancel_job(
    job_id: str, request: Request, principal: JobsWrite, store: StoreDep
) -> JobPublic:
    """Queued work is dropped at once; running work stops at its next batch boundary.

    The job goes `cancelling` then `cancelled`; rows already scored stay downloadable. A job
    that has already ended is returned unchanged.
    """
    await load_job(store, job_id, principal.tenant)
    await run_in_threadpool(store.request_cancel, job_id)
    record = await load_job(store, job_id, principal.tenant)
    return job_public(record, str(request.base_url))


@router.delete(
    "/{job_id}",
    status_code=204,
    summary="Delete a job and its files",
    responses=problem_responses(404),
)
async def delete_job(
    job_id: str, principal: JobsWrite, store: StoreDep, storage: StorageDep, request: Request
) -> Response:
    """Cancel the job if it still runs, then remove its record, rows and files."""
    await load_job(store, job_id, principal.tenant)

    def remove() -> None:
        store.request_cancel(job_id)
        store.delete(job_id, principal.tenant)
        storage.delete_prefix(layout.job_prefix(job_id))

    await run_in_threadpool(remove)
    request.app.state.watcher.forget(job_id)  # its deletion is published to the other processes
    return Response(status_code=204)


@router.get(
    "/{job_id}/errors",
    summary="Per-row errors",
    responses={200: _TABLE_CONTENT, **problem_responses(404)},
)
async def get_errors(
    job_id: str,
    principal: JobsRead,
    store: StoreDep,
    registry: RegistryDep,
    tally: UsageTallyDep,
    fmt: FormatQuery = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    """Rows that could not be scored, each naming its row (or CSV line), column and reason."""
    record = await load_job(store, job_id, principal.tenant)
    chosen = negotiate(fmt, accept)
    if record.input_kind == "file" and chosen != "parquet":
        body = stream_errors(registry.storage, record, chosen)
        counted = tally.counted(body, record.tenant, record.model_name)
        return StreamingResponse(counted, media_type=MEDIA_TYPES[chosen])
    errors = await run_in_threadpool(store.read_errors, job_id)
    if record.input_kind == "file":
        errors = await run_in_threadpool(all_errors, registry.storage, record)
    rendered = render_errors(errors, chosen)
    tally.add(record.tenant, record.model_name, bytes_out=len(rendered))
    return Response(rendered, media_type=MEDIA_TYPES[chosen])


@router.get(
    "/{job_id}/events",
    summary="Server-Sent Events of status and progress",
    responses={
        200: {"description": "The event stream", "content": {"text/event-stream": {}}},
        **problem_responses(404),
    },
)
async def job_events_stream(
    job_id: str, request: Request, principal: JobsRead, store: StoreDep
) -> StreamingResponse:
    """An SSE stream replaying the job's history, then following it until the job ends."""
    await load_job(store, job_id, principal.tenant)
    client = request.app.state.aredis

    async def stream() -> AsyncIterator[bytes]:
        last_id = "0"
        while not await request.is_disconnected():
            reply = await client.xread({job_events(job_id): last_id}, block=15_000, count=100)
            if not reply:
                yield b": keep-alive\n\n"
                continue
            for entry_id, fields in reply[0][1]:
                last_id = entry_id.decode()
                data = {k.decode(): v.decode() for k, v in fields.items()}
                kind = "status" if "status" in data else "progress"
                payload = orjson.dumps(data).decode()
                yield f"id: {last_id}\nevent: {kind}\ndata: {payload}\n\n".encode()
                if data.get("status") in TERMINAL_STATUSES:
                    return

    return StreamingResponse(stream(), media_type="text/event-stream")


def _download(job_id: str, fmt: str) -> dict[str, str]:
    if fmt == "json":
        return {}
    return {"Content-Disposition": f'attachment; filename="{job_id}.{fmt}"'}


__all__ = ["JobCreate", "router"]
