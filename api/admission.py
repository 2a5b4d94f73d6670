"""Admission: the one place a job submission is held to its tenant's limits.

Every way in (the JSON lane, the route, uploads, `input_uri`, and the synchronous protocols
after them) enters through `admitted`, which checks, in this order, each step refusing before
the next one costs anything:

1. **Body size** (413). A declared `Content-Length` over the limit of the body's kind
   (`max_body_bytes` for JSON, `max_file_bytes` for files) is refused before a byte is read; a
   body without one is counted as it streams, against `Admission.body_limit`.
2. **Request rate** (429). The request's token is taken now, before its body is read, unless
   it is a small JSON submission: that token is handed to the submission script
   (`Admission.hand_over_token`), which takes it in the round trip that stores the job. A
   refused request takes its token before its problem is answered, so refusals count too, and
   a 429 comes before any other refusal.
3. **Tenant limits on the job** (413 rows per job, 429 small jobs queued, 429 jobs in flight).
   Checked in the same step that stores the job, so two racing requests cannot both pass: by
   the submission script for JSON jobs, by `Admission.admit_job` for files and `input_uri`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from starlette.requests import Request

from api.deps import Principal
from api.errors import Problem
from inferq.config import Settings
from inferq.files.formats import format_of_media
from inferq.limits import TenantLimits

#: A JSON body up to this size may be read before the request's rate token is taken (the
#: submission script takes it, saving a round trip); bigger or unsized bodies take it first.
SMALL_JSON_BYTES = 1_000_000

_JSON_TYPES = ("application/json", "")


@dataclass
class Admission:
    """A submission let in so far: who sends it, the limit on its body, and whether its rate
    token is still to be taken."""

    principal: Principal
    limits: TenantLimits
    body_limit: int
    token_due: bool = field(default=True)
    received: int = 0
    """Bytes of the body read so far (counted as the tenant's bytes in)."""

    async def take_token(self) -> None:
        """Take the request's rate token unless it was taken (429 when there is none)."""
        if self.token_due:
            self.token_due = False
            await self.limits.take_request_async(self.principal.tenant)

    def hand_over_token(self) -> bool:
        """Whether the caller's script is to take the token (it is then no longer due here)."""
        due, self.token_due = self.token_due, False
        return due

    async def stream(self, request: Request) -> AsyncGenerator[bytes, None]:
        """The body's pieces as they arrive; 413 as soon as they pass `body_limit` bytes."""
        async for piece in request.stream():
            self.received += len(piece)
            if self.received > self.body_limit:
                raise Problem(413, f"body is over the limit of {self.body_limit} bytes")
            if piece:
                yield piece

    async def read_body(self, request: Request) -> bytes:
        """The whole body (a JSON job's), refusing with 413 as soon as it passes the limit."""
        return b"".join([piece async for piece in self.stream(request)])

    def admit_job(self, job_id: str) -> None:
        """Count a new file job in flight against the tenant's limit (429 over it)."""
        self.limits.admit_job(self.principal.tenant, job_id)


@asynccontextmanager
async def admitted(
    request: Request, principal: Principal, limit: int | None = None
) -> AsyncIterator[Admission]:
    """Admit a submission to the block, in the order the module's docstring gives; the rate
    token is taken when the block ends, well or not, if nothing took it before. `limit`
    replaces the body limit of the request's kind (a synchronous request's body is held whole
    in memory, whatever its type)."""
    settings: Settings = request.app.state.settings
    small = small_json(request.headers)
    limit = body_limit(request, settings) if limit is None else limit
    admission = Admission(principal, request.app.state.limits, limit)
    try:
        check_declared_size(request.headers, admission.body_limit)
        if not small:
            await admission.take_token()  # a big upload is refused before it is read
        yield admission
    except Exception:
        await admission.take_token()  # a refused request counts against the rate too
        raise
    await admission.take_token()


def small_json(headers: Mapping[str, str]) -> bool:
    """Whether the request headers announce a JSON body of at most `SMALL_JSON_BYTES`."""
    length = headers.get("content-length", "")
    content_type = headers.get("content-type", "")
    return (
        length.isdigit()
        and int(length) <= SMALL_JSON_BYTES
        and content_type.split(";")[0].strip().lower() in _JSON_TYPES
    )


def body_limit(request: Request, settings: Settings) -> int:
    """The most bytes this request's body may have: a file's or a form's limit, else a JSON
    body's."""
    content_type = request.headers.get("content-type", "")
    if format_of_media(content_type) or content_type.lower().startswith("multipart/form-data"):
        return settings.max_file_bytes
    return settings.max_body_bytes


def check_declared_size(headers: Mapping[str, str], limit: int) -> None:
    """413 at once when Content-Length already says the body is over `limit` bytes."""
    declared = headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Problem(413, f"body of {declared} bytes is over the limit of {limit} bytes")
