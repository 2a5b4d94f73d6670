"""The public job object and the webhook body that carries it: what a client reads of a job.

One view for both faces, so a webhook receiver sees exactly what `GET /v1/jobs/{id}` shows. It
lives in the shared core because the API answers with it and the workers send it.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from inferq.config import Settings
from inferq.jobs.record import JobRecord
from inferq.jobs.store import JobStore
from inferq.schema import ContributionsMethod
from inferq.timefmt import now_rfc3339, rfc3339_from_unix

Priority = Literal["high", "normal", "low"]


class ModelRef(BaseModel):
    """The exact model version a job is scored with."""

    name: str
    version: int
    canary: bool = Field(default=False, description="The job went to its alias's canary")


class Progress(BaseModel):
    """Rows counted so far; `rows_total` is null until known."""

    rows_total: int | None
    rows_done: int
    rows_failed: int


class JobPublic(BaseModel):
    """The job object."""

    model_config = ConfigDict(protected_namespaces=())

    id: str
    status: Literal[
        "queued", "running", "succeeded", "failed", "cancelling", "cancelled", "expired"
    ]
    model: ModelRef
    created_at: str
    started_at: str | None
    finished_at: str | None
    progress: Progress
    error: dict[str, Any] | None
    metadata: dict[str, Any]
    priority: Priority
    outputs: list[str]
    contributions_method: ContributionsMethod | None = Field(
        default=None, description="How contributions are computed, when `outputs` has them"
    )
    passthrough: list[str]
    expires_at: str | None = Field(description="When inputs and results are deleted")
    attempts: int = Field(description="Times a worker took the job (over 1 after a lost worker)")
    links: dict[str, str]
    results: dict[str, Any] | None = Field(
        default=None,
        description="The scored rows (columns/data), only with `?include=results` on a small job",
    )


def job_public(record: JobRecord, base_url: str) -> JobPublic:
    """The job object for a record, as the model the routes declare."""
    return JobPublic.model_validate(job_object(record, base_url))


def job_object(record: JobRecord, base_url: str) -> dict[str, Any]:
    """The job object for a record as plain JSON types; links are absolute URLs under
    `base_url`. The one view of a job: `JobPublic` is its schema, and the hot paths (the lane,
    webhooks) serialize this dict directly (building the model costs ~4x the rest)."""
    self_url = f"{base_url.rstrip('/')}/v1/jobs/{record.id}"
    return {
        "id": record.id,
        "status": record.visible_status(time.time()).value,
        "model": {
            "name": record.model_name,
            "version": record.model_version,
            "canary": record.canary,
        },
        "created_at": record.created_at,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "progress": {
            "rows_total": record.rows_total,
            "rows_done": record.rows_done,
            "rows_failed": record.rows_failed,
        },
        "error": record.error,
        "metadata": record.metadata,
        "priority": record.priority,
        "outputs": record.outputs,
        "contributions_method": record.contributions_method,
        "passthrough": record.passthrough,
        "expires_at": rfc3339_from_unix(record.expires_at),
        "attempts": record.attempts,
        "links": {
            "self": self_url,
            "results": f"{self_url}/results",
            "errors": f"{self_url}/errors",
            "events": f"{self_url}/events",
            "cancel": f"{self_url}/cancel",
        },
        "results": None,
    }


def event_type(record: JobRecord) -> str:
    """The event a job's ending announces: `job.succeeded`, `job.failed` or `job.cancelled`."""
    return f"job.{record.status.value}"


def public_base_url(settings: Settings) -> str:
    """The API's base URL as clients reach it, for the links inside the job object."""
    return settings.public_url or f"http://{settings.host}:{settings.port}"


def event_body(record: JobRecord, store: JobStore, settings: Settings) -> bytes:
    """`{"type", "timestamp", "data": <job object>}`; scored rows are in `data.results` if small."""
    data = job_object(record, public_base_url(settings))
    raw = store.read_inline_result(record.id)
    if raw is not None and len(raw) <= settings.webhook_inline_results_bytes:
        data["results"] = orjson.loads(raw)
    event = {"type": event_type(record), "timestamp": record.finished_at or now_rfc3339()}
    return orjson.dumps({**event, "data": data})
