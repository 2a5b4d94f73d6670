"""Reading a job for an answer: the caller's own, waited for until it ends, rows inlined."""

from __future__ import annotations

import asyncio
import contextlib

import orjson

from api.errors import Problem
from api.schemas import JobPublic
from api.views import job_public
from api.watch import JobWatcher
from inferq.jobs.record import JobRecord, JobStatus
from inferq.jobs.store import JobStore


async def present(
    store: JobStore,
    record: JobRecord,
    base_url: str,
    include: str | None,
    result: bytes | None = None,
) -> JobPublic:
    """The job object, with the scored rows inlined when asked for and available."""
    public = job_public(record, base_url)
    if include == "results" and record.status == JobStatus.SUCCEEDED:
        if result is None:
            _, result = await store.get_with_result_async(record.id)
        if result is not None:
            public.results = orjson.loads(result)
    return public


async def load_job(store: JobStore, job_id: str, tenant: str) -> JobRecord:
    """The caller's job, or 404 (also for another tenant's job: its existence is not revealed)."""
    return _own(await store.get_async(job_id), job_id, tenant)


def _own(record: JobRecord | None, job_id: str, tenant: str) -> JobRecord:
    if record is None or record.tenant != tenant:
        raise Problem(404, f"no job {job_id}", title="Job not found")
    return record


async def wait_for_end(
    watcher: JobWatcher,
    store: JobStore,
    job_id: str,
    tenant: str,
    wait: float,
    known: JobRecord | None = None,
) -> tuple[JobRecord, bytes | None]:
    """The job and its inline result once it has ended (or the time is up).

    The watcher wakes only at terminal statuses, and hands over the ended record and rows it
    heard published (else the job is read). A caller that has just read or created the job
    passes it as `known`, which saves the first read.
    """
    event = watcher.register(job_id)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    try:
        if known is not None and not known.terminal:
            await _woken(event, min(wait, 1.0))
        while True:
            heard = watcher.ending(job_id)
            if heard is None:
                event.clear()
                record, result = await store.get_with_result_async(job_id)
            else:
                record, result = heard
            record = _own(record, job_id, tenant)
            remaining = deadline - loop.time()
            if record.terminal or remaining <= 0:
                return record, result
            await _woken(event, min(remaining, 1.0))
    finally:
        watcher.unregister(job_id, event)


async def _woken(event: asyncio.Event, timeout: float) -> None:
    """Wait for the job's end; the timeout covers a lost subscription (Redis restarted)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):  # unlike wait_for(), no task per wait
            await event.wait()
