"""How every protocol answers: its own error body for each failure, each answer counted.

An adapter's endpoint runs its work through `serve`, which turns what the core and the adapter
raise into a status and message (`failure_of`) and lets the protocol write them in its shape:
clients parse that shape, not problem+json. A client's mistake is a 4xx; only an unexpected
error is a 500 (logged), still in the protocol's shape.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from api.errors import Problem
from inferq.limits import LimitExceeded
from inferq.problems import InputProblem
from inferq.redis_client import REDIS_UNAVAILABLE
from models.registry import ModelNotFound

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Failure:
    """Why a request was not answered: the HTTP status, a message, headers to send."""

    status: int
    message: str
    headers: dict[str, str] | None = None


ErrorBody = Callable[[Failure], bytes]
"""A protocol's error body for a failure."""


def failure_of(exc: Exception) -> Failure | None:
    """The failure an exception of the core or an adapter means; None for a bug."""
    if isinstance(exc, Problem):
        return Failure(exc.status, exc.detail, exc.headers)
    if isinstance(exc, InputProblem):
        return Failure(400, exc.detail if exc.errors else exc.title)
    if isinstance(exc, ModelNotFound):
        return Failure(404, str(exc))
    if isinstance(exc, LimitExceeded):
        retry = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        return Failure(exc.status, exc.detail, retry)
    if isinstance(exc, REDIS_UNAVAILABLE):
        log.warning("dependency unavailable: %s", exc)
        detail = "Redis is unreachable; the request was not accepted"
        return Failure(503, detail, {"Retry-After": "2"})
    return None


async def serve(
    request: Request,
    protocol: str,
    error_body: ErrorBody,
    work: Callable[[], Awaitable[Response]],
) -> Response:
    """`work`'s answer, or the protocol's error answer for what it raised; counted either way."""
    start = time.perf_counter()
    try:
        response = await work()
    except Exception as exc:
        failure = failure_of(exc)
        if failure is None:
            log.exception("unexpected error on %s %s", request.method, request.url.path)
            failure = Failure(500, "an unexpected error was logged")
        response = Response(
            error_body(failure),
            failure.status,
            headers=failure.headers,
            media_type="application/json",
        )
    request.app.state.sync_tally.count(protocol, response.status_code, time.perf_counter() - start)
    return response
