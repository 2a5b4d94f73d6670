"""Reading a job for an answer: the caller's own, waited for until it ends, rows inlined."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson
from starlette.requests import Request

from api.deps import Principal, base_url
from api.errors import Problem
from api.reads.watch import JobWatcher
from inferq.jobs.public import job_object
from inferq.jobs.record import JobRecord, JobStatus
from inferq.jobs.store import JobStore


async def read_job(
    request: Request,
    principal: Principal,
    job_id: str,
    wait: float,
    include: str | None,
    counted: bool = False,
) -> dict[str, Any]:
    """The caller's job (404 for another tenant's); with `wait` > 0, once it has ended or
    `wait` seconds (at most `max_wait_seconds`) have passed.

    Unless `counted` (the route's dependency took it), the request's rate token is taken: from
    the process's lease, or in the round trip that reads the job. A wait on a job the watcher
    knows (created here, or heard ending, within the last two seconds, and not deleted since)
    begins without that read: the usual poll after a submission, or of a job that has just
    ended, costs no round trip. Any other first look reads Redis, so a job deleted a moment ago
    is a 404 at once.
    """
    state = request.app.state
    tenant = principal.tenant
    wait = min(wait, state.settings.max_wait_seconds)
    if (
        wait > 0
        and state.watcher.knows(job_id, tenant)
        and (counted or state.limits.leases.take(tenant))
    ):
        record, result = await wait_for_end(
            state.watcher, state.store, job_id, tenant, wait, unread=True
        )
        read_result = False
    else:
        with_result = include == "results"
        record, result = await state.reader.read(tenant, job_id, with_result, not counted)
        read_result = with_result
        record = _own(record, job_id, tenant)
        if wait > 0 and not record.terminal:
            record, result = await wait_for_end(
                state.watcher, state.store, job_id, tenant, wait, known=record
            )
            read_result = False
    url = base_url(request)
    return await present(state.store, record, url, include, result, read_result)


async def present(
    store: JobStore,
    record: JobRecord,
    base_url: str,
    include: str | None,
    result: bytes | None = None,
    result_read: bool = False,
) -> dict[str, Any]:
    """The job object (plain JSON types, `JobPublic`'s shape), with the scored rows inlined
    when asked for and available (read unless `result_read` says `result` is what the store
    holds)."""
    public = job_object(record, base_url)
    if include == "results" and record.status == JobStatus.SUCCEEDED:
        if result is None and not result_read:
            _, result = await store.get_with_result_async(record.id)
        if result is not None:
            public["results"] = orjson.loads(result)
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
    unread: bool = False,
) -> tuple[JobRecord, bytes | None]:
    """The job and its inline result once it has ended (or the time is up).

    The watcher wakes only at terminal statuses, and hands over the ended record and rows it
    heard published (else the job is read). A caller that has just read or created the job
    passes it as `known`, which saves the first read; one that has not read it but knows the
    watcher knows it (`JobWatcher.knows`) says `unread`: the wait comes first there too.
    """
    event = watcher.register(job_id)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    try:
        if unread or (known is not None and not known.terminal):
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
