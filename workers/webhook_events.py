"""The body of a webhook: the event type, when it happened, and the job object it is about."""

from __future__ import annotations

import orjson

from api.views import job_public
from inferq.config import Settings
from inferq.jobs.record import JobRecord
from inferq.jobs.store import JobStore
from inferq.timefmt import now_rfc3339


def event_type(record: JobRecord) -> str:
    """The event a job's ending announces: `job.succeeded`, `job.failed` or `job.cancelled`."""
    return f"job.{record.status.value}"


def public_base_url(settings: Settings) -> str:
    """The API's base URL as clients reach it, for the links inside the job object."""
    return settings.public_url or f"http://{settings.host}:{settings.port}"


def event_body(record: JobRecord, store: JobStore, settings: Settings) -> bytes:
    """`{"type", "timestamp", "data": <job object>}`; scored rows are in `data.results` if small.

    The job object is built by the same view the API answers with, so a receiver sees exactly
    what `GET /v1/jobs/{id}` shows.
    """
    data = job_public(record, public_base_url(settings)).model_dump(mode="json")
    raw = store.read_inline_result(record.id)
    if raw is not None and len(raw) <= settings.webhook_inline_results_bytes:
        data["results"] = orjson.loads(raw)
    event = {"type": event_type(record), "timestamp": record.finished_at or now_rfc3339()}
    return orjson.dumps({**event, "data": data})
