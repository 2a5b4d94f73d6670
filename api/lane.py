"""A lane past FastAPI's routing for the two hottest requests: submitting a job (`POST
/v1/jobs`) and reading one (`GET /v1/jobs/{id}`, long-polled with `?wait=`).

An application sending thousands of one-row jobs a second, then polling each, spends more CPU in
FastAPI's dependency solving, routing and response validation than in the work (py-spy, issues 6
and 16). This middleware answers those requests itself with the routes' own steps
(`api.submit.accept.accept_job`, `api.reads.jobs.read_job`), the same key check and scope, and
the app's own exception handlers, so every answer is the one the route would give, for JSON
bodies and uploads alike. Anything else, including a query the route would refuse
(`?wait=soon`), goes on to FastAPI untouched: it is decided before the body is read.
"""

from __future__ import annotations

import inspect
import math
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.deps import Principal, authenticate, bearer_key, in_scope
from api.reads.jobs import read_job
from api.submit.accept import accept_job

#: The collection both routes live under.
PATH = "/v1/jobs"
_PREFIX = PATH + "/"


class Lane:
    """ASGI middleware answering some requests itself (`answer`) and passing the rest on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = await self.answer(scope, receive)
        if answer is None:
            await self.app(scope, receive, send)
        else:
            await answer(scope, receive, send)

    async def answer(self, scope: Scope, receive: Receive) -> ASGIApp | None:
        """The lane's answer to the request; None when it is not the lane's."""
        raise NotImplementedError


class JobLane(Lane):
    """Takes job submissions and job reads off FastAPI's path."""

    async def answer(self, scope: Scope, receive: Receive) -> ASGIApp | None:
        """The lane's answer to the request, its errors answered by the app's handlers; None
        when the request is not the lane's (FastAPI answers it). An unexpected error is raised,
        as from a route."""
        job_id = lane_of(scope)
        query = simple_query(scope["query_string"]) if job_id is not None else None
        if query is None:
            return None
        request = Request(scope, receive)
        try:
            return await self._answer(request, job_id or None, *query)
        except Exception as exc:
            handled = await _handled(request, exc)
            if handled is None:
                raise
            return handled

    async def _answer(
        self, request: Request, job_id: str | None, wait: float, include: str | None
    ) -> _JsonAnswer:
        if job_id is None:
            principal = await _caller(request, "jobs:write")
            idempotency_key = request.headers.get("idempotency-key")
            accepted = await accept_job(request, principal, idempotency_key, wait, include)
            body = orjson.dumps(accepted.job)
            return _JsonAnswer(accepted.status, body, accepted.job["links"]["self"])
        principal = await _caller(request, "jobs:read")
        job = await read_job(request, principal, job_id, wait, include)
        return _JsonAnswer(200, orjson.dumps(job))


def lane_of(scope: Scope) -> str | None:
    """'' for a submission, the job id for a read, None for any other request."""
    if scope["type"] != "http":
        return None
    path: str = scope["path"]
    if scope["method"] == "POST" and path == PATH:
        return ""
    if scope["method"] == "GET" and path.startswith(_PREFIX):
        job_id = path[len(_PREFIX) :]
        return job_id if job_id and "/" not in job_id else None
    return None


async def _caller(request: Request, scope: str) -> Principal:
    """The caller named by the request's key, if it carries `scope` (401 or 403 otherwise)."""
    state = request.app.state
    key = bearer_key(request)
    return in_scope(await authenticate(key, state.settings, state.keys), scope)


def simple_query(query_string: bytes) -> tuple[float, str | None] | None:
    """`wait` and `include` from a query the route would accept as it is, else None (the
    route then answers, with its 422 for a bad value)."""
    wait, include = 0.0, None
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name == "wait":
            try:
                wait = float(value)
            except ValueError:
                return None
            if not math.isfinite(wait) or wait < 0:
                return None
        elif name == "include":
            if value != "results":
                return None
            include = value
    return wait, include


class _JsonAnswer:
    """A job object as the routes send it: JSON, with the job's URL as `Location` when new."""

    def __init__(self, status: int, body: bytes, location: str | None = None) -> None:
        self.status = status
        self.body = body
        self.location = location

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self.body)).encode()),
        ]
        if self.location is not None:
            headers.append((b"location", self.location.encode()))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


async def _handled(request: Request, exc: Exception) -> ASGIApp | None:
    """The app's answer to `exc` from its handler for the nearest class in the exception's
    MRO, or None for an unexpected error: that goes on to the outer error middleware (500,
    logged), as it does from a route."""
    handlers = request.app.exception_handlers
    for cls in type(exc).__mro__:
        if cls is Exception:
            return None
        if cls in handlers:
            answer = handlers[cls](request, exc)
            return await answer if inspect.isawaitable(answer) else answer
    return None
