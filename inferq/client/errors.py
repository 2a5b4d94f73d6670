"""Typed errors of the inferq client, carrying the server's problem+json fields."""

from __future__ import annotations

from typing import Any

import httpx


class InferqError(Exception):
    """An error answer from the API (or no answer at all), with its problem+json fields."""

    def __init__(
        self,
        status: int | None,
        title: str,
        detail: str = "",
        errors: list[dict[str, Any]] | None = None,
        type: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status or 'no answer'} {title}: {detail}" if detail else title)
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors or []
        self.type = type
        self.retry_after = retry_after


class BadRequest(InferqError):
    """400: the request was malformed."""


class Unauthorized(InferqError):
    """401: no API key, or an unknown or revoked one."""


class Forbidden(InferqError):
    """403: the API key lacks a scope the request needs."""


class NotFound(InferqError):
    """404: no such job or model (or it belongs to another tenant)."""


class Conflict(InferqError):
    """409: the job is not in a state that allows this (e.g. results before it ended)."""


class PayloadTooLarge(InferqError):
    """413: the body is over the server's size limit."""


class UnsupportedMediaType(InferqError):
    """415: the server does not take this kind of input."""


class ValidationFailed(InferqError):
    """422: the input was read but is wrong; `errors` names each field, column or row."""


class RateLimited(InferqError):
    """429: too many requests; try again after `retry_after` seconds."""


class ServerError(InferqError):
    """500 and other 5xx answers that are not a temporary unavailability."""


class Unavailable(InferqError):
    """503, or the API could not be reached at all; try again after `retry_after` seconds."""


class JobFailed(InferqError):
    """A job ended `failed`, `cancelled` or `expired` where its results were wanted."""

    def __init__(self, job: Any) -> None:
        error = job.error or {}
        detail = error.get("message") or f"job {job.id} is {job.status}"
        super().__init__(None, f"Job {job.status}", detail)
        self.job = job


_BY_STATUS: dict[int, type[InferqError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: ValidationFailed,
    429: RateLimited,
    502: Unavailable,
    503: Unavailable,
    504: Unavailable,
}


def error_from_response(response: httpx.Response) -> InferqError:
    """The typed error for an error answer, problem+json or not."""
    body: dict[str, Any] = {}
    try:
        parsed = response.json()
        if isinstance(parsed, dict):
            body = parsed
    except ValueError:
        pass
    status = response.status_code
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else InferqError)
    return cls(
        status,
        str(body.get("title") or response.reason_phrase),
        str(body.get("detail") or response.text[:500]),
        errors=body.get("errors"),
        type=body.get("type"),
        retry_after=_retry_after(response.headers.get("retry-after")),
    )


def unreachable(url: str, exc: Exception) -> Unavailable:
    """The error for an API that did not answer (connection refused, DNS, timeout)."""
    return Unavailable(None, "API unreachable", f"{url}: {type(exc).__name__}: {exc}")


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
