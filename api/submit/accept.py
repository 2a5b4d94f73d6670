"""The way in for a job submission: admit it, take it in by its Content-Type, answer with it.

`accept_job` is what both the `POST /v1/jobs` route and the JSON lane (`api.lane`) call,
so the two answer alike. The steps, in order:

1. `api.admission.admitted`: body size, the request's rate token, and (with the job) the
   tenant's limits;
2. a JSON body (rows or `input_uri`) goes to `api.submit.json_job`, a raw file or a form to
   `api.submit.upload`; each stores the job and queues its work;
3. the watcher notes the new job (`JobWatcher.created`: a poll of it waits without a read);
4. with `wait`, `api.reads.jobs.wait_for_end`; then `present` builds the job object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request

from api.admission import Admission, admitted
from api.deps import Principal, base_url
from api.reads.jobs import present, wait_for_end
from api.submit.json_job import take_in_json
from api.submit.upload import take_in_upload
from inferq.files.formats import format_of_media
from inferq.jobs.record import JobRecord


@dataclass(frozen=True)
class Accepted:
    """The answer to a submission: the job object (`JobPublic`'s shape), and 200 (ended, or an
    earlier job of the same Idempotency-Key) or 202 (queued)."""

    job: dict[str, Any]
    status: int


async def accept_job(
    request: Request,
    principal: Principal,
    idempotency_key: str | None,
    wait: float,
    include: str | None,
) -> Accepted:
    """Store and queue the job the request describes, then answer with it; with `wait` > 0,
    once it has ended or `wait` seconds (at most `max_wait_seconds`) have passed."""
    state = request.app.state
    async with admitted(request, principal) as admission:
        record, created = await take_in(request, admission, idempotency_key)
    if created:
        state.watcher.created(record.id, record.tenant)  # a poll of it then waits at once
        if record.input_kind != "inline":  # a small job counts in its script
            tally = state.usage_tally
            tally.add(record.tenant, record.model_name, jobs=1, bytes_in=admission.received)
    result = None
    if wait > 0:
        wait = min(wait, state.settings.max_wait_seconds)
        record, result = await wait_for_end(
            state.watcher, state.store, record.id, principal.tenant, wait, known=record
        )
    public = await present(state.store, record, base_url(request), include, result)
    return Accepted(public, 200 if record.terminal or not created else 202)


async def take_in(
    request: Request, admission: Admission, idempotency_key: str | None
) -> tuple[JobRecord, bool]:
    """Store and queue the job by its Content-Type; returns it and whether it is new (False:
    an earlier job of the same Idempotency-Key)."""
    content_type = request.headers.get("content-type", "")
    fmt = format_of_media(content_type)
    if fmt is not None or content_type.lower().startswith("multipart/form-data"):
        taken = await take_in_upload(request, fmt, admission, idempotency_key)
        await request.app.state.durability.confirm()  # before the 202 (api.submit.durable)
        return taken
    return await take_in_json(request, admission, idempotency_key)
