"""A lane past FastAPI's routing for the hottest request: `POST /v1/jobs` with a small JSON body.

An application sending thousands of one-row jobs a second spends more CPU in FastAPI's
dependency solving, routing and response validation than in taking the job in (py-spy, issue
6). This middleware answers those requests itself, with the same steps as the route
(`api.accept.accept_job`), the same key check and the app's own exception handlers, so every
answer is the one the route would give. Anything else, including a query the route would
refuse (`?wait=soon`), goes on to FastAPI untouched: it is decided before the body is read.
"""

from __future__ import annotations

import inspect
import math
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.accept import accept_job, small_json
from api.deps import authenticate, bearer, in_scope

#: The route this lane answers.
PATH = "/v1/jobs"


class SubmitLane:
    """ASGI middleware that takes small JSON job submissions off FastAPI's request path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        query = simple_query(scope["query_string"])
        request = Request(scope, receive)  # reads nothing yet: the route may still take it
        if query is None or not small_json(request.headers):
            await self.app(scope, receive, send)
            return
        answer: ASGIApp
        try:
            answer = await self._accept(request, *query)
        except Exception as exc:
            handled = await _handled(request, exc)
            if handled is None:
                raise
            answer = handled
        await answer(scope, receive, send)

    async def _accept(self, request: Request, wait: float, include: str | None) -> _JsonAnswer:
        state = request.app.state
        credentials = await bearer(request)
        key = credentials.credentials if credentials else None
        principal = in_scope(await authenticate(key, state.settings, state.keys), "jobs:write")
        idempotency_key = request.headers.get("idempotency-key")
        accepted = await accept_job(request, principal, idempotency_key, wait, include)
        body = accepted.job.model_dump_json().encode()
        return _JsonAnswer(accepted.status, body, accepted.job.links["self"])


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
    """The job object as the route sends it: JSON, with the job's URL as `Location`."""

    def __init__(self, status: int, body: bytes, location: str) -> None:
        self.status = status
        self.body = body
        self.location = location

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self.body)).encode()),
            (b"location", self.location.encode()),
        ]
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
