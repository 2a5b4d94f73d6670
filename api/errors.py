"""Every error answer as application/problem+json (RFC 9457), never a stack trace."""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from kombu.exceptions import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from inferq.config import get_settings
from inferq.keyring import DecryptionFailed
from inferq.limits import LimitExceeded
from inferq.problems import InputProblem
from inferq.redis_client import REDIS_UNAVAILABLE
from inferq.redis_multiplex import NotReplicated
from models.registry import ModelNotFound

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPES = "https://inferq.dev/problems"


class Problem(Exception):
    """An error answer: status, title, detail, and optional field errors or headers."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        kind: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title or HTTPStatus(status).phrase
        self.detail = detail
        self.errors = errors
        self.headers = headers
        self.kind = kind
        """A name that tells this problem from others of its status (the `type`); default none."""


def problem_response(
    status: int,
    title: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
    kind: str | None = None,
) -> JSONResponse:
    """A problem+json answer; `extensions` are extra members (RFC 9457 section 3.2).

    Its `type` is `https://inferq.dev/problems/<kind>` for a problem with a name of its own,
    else `.../<status>`.
    """
    body: dict[str, Any] = {
        "type": f"{PROBLEM_TYPES}/{kind or status}",
        "title": title,
        "status": status,
        "detail": detail,
        **(extensions or {}),
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` declaring problem+json answers with these statuses."""
    schema = {"$ref": "#/components/schemas/ProblemDetails"}
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_JSON: {"schema": schema}},
        }
        for status in statuses
    }


def declare_body_problems(app: FastAPI) -> None:
    """Declare in /openapi.json the 400 every body route answers to bytes that are not text.

    FastAPI answers it before any dependency runs (so before the API key is checked).
    """
    original = app.openapi

    def openapi() -> dict[str, Any]:
        schema = original()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                if "requestBody" in operation:
                    operation["responses"].setdefault("400", problem_responses(400)[400])
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


#: What any authenticated /v1 route may answer besides its own results.
AUTHENTICATED_PROBLEMS = problem_responses(401, 403, 422, 429, 503)


def unavailable_response(detail: str) -> JSONResponse:
    """503 asking the client to come back shortly."""
    retry = str(get_settings().retry_after_seconds)
    return problem_response(503, "Service Unavailable", detail, headers={"Retry-After": retry})


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception an endpoint can raise to a problem+json answer."""

    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            exc.status, exc.title, exc.detail, exc.errors, exc.headers, kind=exc.kind
        )

    @app.exception_handler(InputProblem)
    async def _input(_: Request, exc: InputProblem) -> JSONResponse:
        return problem_response(exc.status, exc.title, exc.detail, exc.errors)

    @app.exception_handler(LimitExceeded)
    async def _limit(_: Request, exc: LimitExceeded) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        return problem_response(
            exc.status, HTTPStatus(exc.status).phrase, exc.detail, None, headers
        )

    @app.exception_handler(ModelNotFound)
    async def _model(_: Request, exc: ModelNotFound) -> JSONResponse:
        return problem_response(404, "Model not found", str(exc))

    @app.exception_handler(DecryptionFailed)
    async def _sealed(_: Request, exc: DecryptionFailed) -> JSONResponse:
        log.error("stored data cannot be decrypted: %s", exc)
        return problem_response(500, "Stored data cannot be decrypted", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        return problem_response(422, "Invalid request", _first(errors), errors)

    @app.exception_handler(MultiPartException)
    async def _malformed_form(_: Request, exc: MultiPartException) -> JSONResponse:
        # A form the job route parses itself; FastAPI's own form parsing (model uploads) turns
        # the same error into the same 400 through the HTTPException handler below.
        return problem_response(400, HTTPStatus(400).phrase, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = HTTPStatus(exc.status_code).phrase
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the methods of the first route whose path matched.
            headers["Allow"] = ", ".join(allowed_methods(request)) or headers.get("Allow", "")
        return problem_response(exc.status_code, title, str(exc.detail), headers=headers or None)

    @app.exception_handler(NotReplicated)
    async def _not_replicated(_: Request, exc: NotReplicated) -> JSONResponse:
        log.warning("job not acknowledged: %s", exc)
        return unavailable_response(
            f"the job is not accepted: {exc} (INFERQ_REDIS_MIN_REPLICAS); "
            "retry with the same Idempotency-Key"
        )

    for exc_type in (*REDIS_UNAVAILABLE, OperationalError):
        app.add_exception_handler(exc_type, _unavailable)
    app.add_exception_handler(Exception, _internal)


def allowed_methods(request: Request) -> list[str]:
    """Every method the published schema serves at the request's path, for a 405's Allow.

    Read from the OpenAPI paths because routers nest (Starlette names only the methods of the
    first route whose path matched, and included routers hide theirs).
    """
    methods: set[str] = set()
    for template, operations in request.app.openapi()["paths"].items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, request.url.path):
            methods |= {method.upper() for method in operations}
    return sorted(methods)


async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
    log.warning("dependency unavailable: %s", exc)
    return unavailable_response("Redis is unreachable; the request was not accepted")


async def _internal(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(500, "Internal Server Error", "an unexpected error was logged")


def _first(errors: list[dict[str, Any]]) -> str:
    if not errors:
        return "invalid request"
    where = ".".join(str(part) for part in errors[0]["loc"])
    return f"{where}: {errors[0]['msg']}"
