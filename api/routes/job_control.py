"""Stopping and removing jobs: cancel and delete."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.deps import JobsWrite, StoreDep
from api.routes.jobs import load_job
from api.schemas import JobPublic
from api.views import job_public

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.post("/{job_id}/cancel", response_model=JobPublic, summary="Cancel a job")
async def cancel_job(
    job_id: str, request: Request, principal: JobsWrite, store: StoreDep
) -> JobPublic:
    """Stop queued and running work; an ended job is answered as it is. Scored rows stay."""
    record = await load_job(store, job_id, principal.tenant)
    if not record.terminal:
        await run_in_threadpool(store.cancel, job_id)
        record = await load_job(store, job_id, principal.tenant)
    return job_public(record, str(request.base_url))


@router.delete("/{job_id}", status_code=204, summary="Delete a job")
async def delete_job(job_id: str, principal: JobsWrite, store: StoreDep) -> Response:
    """Remove the job and everything it keeps; a running job is cancelled first."""
    record = await load_job(store, job_id, principal.tenant)
    if not record.terminal:
        await run_in_threadpool(store.cancel, job_id)
    await run_in_threadpool(store.delete, job_id, principal.tenant)
    return Response(status_code=204)
