"""Answering a job submission: take the job in, wait for its end if asked, present it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fastapi import Request

from api.deps import Principal, RequestToken
from api.intake import take_in_job
from api.job_reads import present, wait_for_end
from api.schemas import JobPublic


@dataclass(frozen=True)
class Accepted:
    """The answer to a submission: the job object, and 200 (ended, or an earlier job of the
    same Idempotency-Key) or 202 (queued)."""

    job: JobPublic
    status: int


async def accept_job(
    request: Request,
    principal: Principal,
    idempotency_key: str | None,
    wait: float,
    include: str | None,
) -> Accepted:
    """Store and queue the job the request describes, then answer with it; with `wait` > 0,
    once it has ended or `wait` seconds (at most `max_wait_seconds`) have passed.

    The request counts against the tenant's rate whatever happens: a small JSON submission's
    token is taken by its submission script (one round trip), other requests' before their
    body is read, and a refused request's before its problem is answered.
    """
    state = request.app.state
    settings = state.settings
    token = RequestToken(state.limits, principal.tenant)
    if not small_json(request.headers):
        await token.take()  # a big upload is refused before it is read
    try:
        record, created = await take_in_job(
            request,
            principal,
            settings,
            state.store,
            state.registry,
            state.limits,
            idempotency_key,
            token,
        )
    except Exception:
        await token.take()  # a refused request counts against the rate too (429 comes first)
        raise
    await token.take()
    result = None
    if wait > 0:
        wait = min(wait, settings.max_wait_seconds)
        record, result = await wait_for_end(
            state.watcher, state.store, record.id, principal.tenant, wait, known=record
        )
    public = await present(state.store, record, str(request.base_url), include, result)
    return Accepted(public, 200 if record.terminal or not created else 202)


#: A JSON body up to this size may be read before the request's rate token is taken (the
#: submission script takes it, saving a round trip); bigger or unsized bodies take it first.
SMALL_JSON_BYTES = 1_000_000


def small_json(headers: Mapping[str, str]) -> bool:
    """Whether the request headers announce a JSON body of at most `SMALL_JSON_BYTES`."""
    length = headers.get("content-length", "")
    content_type = headers.get("content-type", "")
    return (
        length.isdigit()
        and int(length) <= SMALL_JSON_BYTES
        and content_type.split(";")[0].strip().lower() in ("application/json", "")
    )
