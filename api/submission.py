"""Turning a JSON job request into a stored, queued job."""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from api.deps import Principal
from api.schemas import JobCreate
from inferq.config import Settings
from inferq.ids import new_job_id
from inferq.jobs.idempotency import IdempotencyMark
from inferq.jobs.record import JobRecord
from inferq.jobs.store import JobStore
from inferq.json_rows import ROW_FORMATS, Rows, check_rows, rows_from_payload
from inferq.limits import TenantLimits
from inferq.problems import InputProblem
from inferq.queue import enqueue_job
from inferq.timefmt import now_rfc3339
from inferq.webhooks.registration import check_webhook_registration
from inferq.webhooks.secrets import WebhookSecrets
from models.registry import ModelRegistry
from models.schema import ModelSchema

log = logging.getLogger(__name__)


def parse_job_body(body: bytes) -> JobCreate:
    """The request body as a JobCreate; 422 naming the place of malformed JSON or a bad field."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InputProblem(
            "Malformed JSON",
            [{"loc": ["body", f"line {exc.lineno}", f"column {exc.colno}"], "msg": exc.msg}],
        ) from exc
    if not isinstance(payload, dict):
        raise InputProblem("Malformed request", [{"loc": ["body"], "msg": "expected an object"}])
    try:
        return JobCreate.model_validate(payload, strict=True)
    except ValidationError as exc:
        errors = [{"loc": ["body", *e["loc"]], "msg": e["msg"]} for e in exc.errors()]
        raise InputProblem("Invalid job request", errors) from exc


async def submit_json_job(
    request: JobCreate,
    principal: Principal,
    settings: Settings,
    store: JobStore,
    registry: ModelRegistry,
    limits: TenantLimits,
    idempotency: IdempotencyMark | None = None,
) -> JobRecord:
    """Check the rows against the resolved model version and the tenant's limits, store, queue
    (and mark the Idempotency-Key with the job in the same step).

    Runs on the event loop with the async Redis client: a one-row job costs three round trips
    (resolve, admit, create) and no thread hop. Only big bodies and webhook checks (DNS) go to
    a thread.
    """
    fmt, payload = _row_payload(request)
    webhook = request.webhook.model_dump() if request.webhook else None
    if webhook is not None:
        secrets = WebhookSecrets(store.redis)
        await run_in_threadpool(
            check_webhook_registration, webhook, principal.tenant, settings, secrets
        )
    model = await registry.resolve_async(request.model, tenant=principal.tenant)
    if _is_big(payload):
        rows = await run_in_threadpool(_checked_rows, request, fmt, payload, model.schema)
    else:
        rows = _checked_rows(request, fmt, payload, model.schema)
    record = JobRecord(
        id=new_job_id(),
        tenant=principal.tenant,
        model_name=model.name,
        model_version=model.version,
        created_at=now_rfc3339(),
        outputs=list(dict.fromkeys(request.outputs)),
        passthrough=request.passthrough,
        priority=request.priority,
        max_error_rate=(
            request.max_error_rate
            if request.max_error_rate is not None
            else settings.max_error_rate
        ),
        metadata=request.metadata,
        webhook=webhook,
        rows_total=len(rows.data),
        **job_clock(settings, request.deadline_seconds),
    )
    await limits.admit_job_async(
        record.tenant, record.id, rows=len(rows.data), queue_limit=settings.max_queued_jobs
    )
    batched = settings.inline_dispatch == "batcher"
    await store.create_async(
        record, inline_input=orjson.dumps(rows.to_dict()), enqueue=batched, idempotency=idempotency
    )
    if not batched:
        await run_in_threadpool(enqueue_job, record)
    log.info("job submitted", extra={"job_id": record.id, "tenant": record.tenant})
    return record


#: Above this many rows (or columns) a job's rows are checked in a thread, not on the loop.
_BIG_PAYLOAD = 1_000


def _is_big(payload: Any) -> bool:
    rows = payload.get("data") if isinstance(payload, dict) else payload
    return not isinstance(rows, list) or len(rows) > _BIG_PAYLOAD


def _checked_rows(request: JobCreate, fmt: str, payload: Any, schema: ModelSchema) -> Rows:
    rows = rows_from_payload(fmt, payload, schema)
    check_rows(rows, schema, request.passthrough, fmt)
    return rows


def job_clock(settings: Settings, deadline_seconds: float | None) -> dict[str, float]:
    """When a job submitted now expires and by when it must have ended."""
    now = time.time()
    return {
        "expires_at": now + settings.retention_seconds,
        "deadline_at": now + (deadline_seconds or settings.job_deadline_seconds),
    }


def _row_payload(request: JobCreate) -> tuple[str, Any]:
    given = [fmt for fmt in ROW_FORMATS if getattr(request, fmt) is not None]
    if len(given) != 1:
        msg = "give exactly one of " + ", ".join(ROW_FORMATS)
        raise InputProblem("Rows missing or ambiguous", [{"loc": ["body"], "msg": msg}])
    return given[0], getattr(request, given[0])
