"""Taking in a JSON job request: rows to store and queue for the batchers, or an `input_uri`."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from api.admission import Admission
from api.deps import Principal
from api.errors import Problem
from api.schemas import JobCreate
from api.submit.idempotency import body_digest, create_once
from api.submit.submitter import JobSubmitter, ModelChanged
from api.submit.uri_job import submit_uri_job
from inferq.config import Settings
from inferq.ids import new_job_id
from inferq.jobs.clock import job_clock
from inferq.jobs.idempotency import IdempotencyMark
from inferq.jobs.record import JobRecord
from inferq.json_rows import ROW_FORMATS, Rows, check_rows, rows_from_payload
from inferq.problems import InputProblem
from inferq.queue import enqueue_job
from inferq.schema import ModelSchema
from inferq.timefmt import now_rfc3339
from inferq.webhooks.registration import check_webhook_registration
from inferq.webhooks.secrets import WebhookSecrets
from models.outputs import check_outputs
from models.registry import ModelRegistry, visible
from models.routing import Choice, route_async

log = logging.getLogger(__name__)


async def take_in_json(
    request: Request, admission: Admission, idempotency_key: str | None
) -> tuple[JobRecord, bool]:
    """Store and queue the job a JSON body describes; returns it and whether it is new (False:
    an earlier job of the same Idempotency-Key)."""
    state = request.app.state
    raw = await admission.read_body(request)
    job = parse_job_body(raw)

    async def create(idempotency: IdempotencyMark | None = None) -> JobRecord:
        if job.input_uri is None:
            return await submit_json_job(
                job, admission, state.settings, state.submitter, state.registry, idempotency
            )
        await admission.take_token()
        return await run_in_threadpool(
            submit_uri_job, job, admission, state.settings, state.store, state.registry,
            idempotency,
        )  # fmt: skip

    if idempotency_key is None:
        record, created = await create(), True
    else:
        tenant = admission.principal.tenant
        record, created = await create_once(
            state.store, tenant, idempotency_key, body_digest(raw), create
        )
    if not created or job.input_uri is not None:  # the rows lane waited for its replicas
        await state.durability.confirm()
    return record, created


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
    admission: Admission,
    settings: Settings,
    submitter: JobSubmitter,
    registry: ModelRegistry,
    idempotency: IdempotencyMark | None = None,
) -> JobRecord:
    """Check the rows against the model version the reference means, then admit (tenant's
    limits), store and queue the job, marking the Idempotency-Key with it, in one step.

    Runs on the event loop with the async Redis client: a one-row job costs one round trip
    (which also takes the request's rate token, when `admission` hands it over) when its model
    reference was resolved lately (two otherwise) and no thread hop. Only big bodies and
    webhook checks (DNS) go to a thread.
    """
    principal = admission.principal
    fmt, payload = _row_payload(request)
    webhook = request.webhook.model_dump() if request.webhook else None
    if webhook is not None:
        secrets = WebhookSecrets(submitter.store.redis)
        await run_in_threadpool(
            check_webhook_registration, webhook, principal.tenant, settings, secrets
        )
    job_id = new_job_id()
    # The canary choice is seeded by the Idempotency-Key, so a retry gets the same version.
    seed = idempotency.redis_key if idempotency else job_id
    route = submitter.last_route(request.model)
    fresh = route is None
    if route is None:
        route = await route_async(registry, request.model)
    for _ in range(_MODEL_CHANGES):
        choice = route.choose(seed)
        model = visible(choice.model, principal.tenant)
        try:
            if _is_big(payload):
                rows = await run_in_threadpool(_checked_rows, request, fmt, payload, model.schema)
            else:
                rows = _checked_rows(request, fmt, payload, model.schema)
        except InputProblem:
            if fresh:
                raise
            # Checked against the version the reference meant last time: if it has moved
            # since, the rows may fit the version it means now.
            latest = await route_async(registry, request.model)
            if latest.signature() == route.signature():
                raise
            route, fresh = latest, True
            continue
        record = _new_record(job_id, request, principal, settings, choice, webhook, len(rows.data))
        batched = settings.inline_dispatch == "batcher"
        try:
            await submitter.submit(
                record,
                request.model,
                route,
                orjson.dumps(rows.to_dict()),
                queue_limit=settings.max_queued_jobs,
                enqueue=batched,
                idempotency=idempotency,
                take_token=admission.hand_over_token(),
                bytes_in=admission.received,
            )
        except ModelChanged as changed:  # an alias moved since: check the rows against it
            route, fresh = changed.route, True
            continue
        if not batched:
            await run_in_threadpool(enqueue_job, record)
        # Small jobs are counted in /metrics; a line each at INFO cost ~10% of the API's CPU.
        log.debug("job submitted", extra={"job_id": record.id, "tenant": record.tenant})
        return record
    raise Problem(
        503, f"model {request.model!r} kept changing; try again", headers={"Retry-After": "1"}
    )


#: Times a submission follows a model reference that moved before giving up (503).
_MODEL_CHANGES = 5


def _new_record(
    job_id: str,
    request: JobCreate,
    principal: Principal,
    settings: Settings,
    choice: Choice,
    webhook: dict[str, Any] | None,
    rows: int,
) -> JobRecord:
    return JobRecord(
        id=job_id,
        tenant=principal.tenant,
        model_name=choice.model.name,
        model_version=choice.model.version,
        model_alias=choice.alias if choice.canary or choice.shadow else None,
        canary=choice.canary,
        shadow_version=choice.shadow,
        created_at=now_rfc3339(),
        outputs=list(dict.fromkeys(request.outputs)),
        contributions_method=request.asked_contributions_method(),
        passthrough=request.passthrough,
        priority=request.priority,
        max_error_rate=(
            request.max_error_rate
            if request.max_error_rate is not None
            else settings.max_error_rate
        ),
        metadata=request.metadata,
        webhook=webhook,
        rows_total=rows,
        **job_clock(settings, request.deadline_seconds),
    )


#: Above this many rows (or columns) a job's rows are checked in a thread, not on the loop.
_BIG_PAYLOAD = 1_000


def _is_big(payload: Any) -> bool:
    rows = payload.get("data") if isinstance(payload, dict) else payload
    return not isinstance(rows, list) or len(rows) > _BIG_PAYLOAD


def _checked_rows(request: JobCreate, fmt: str, payload: Any, schema: ModelSchema) -> Rows:
    check_outputs(schema, request.outputs)
    rows = rows_from_payload(fmt, payload, schema)
    check_rows(rows, schema, request.passthrough, fmt)
    return rows


def _row_payload(request: JobCreate) -> tuple[str, Any]:
    given = [fmt for fmt in ROW_FORMATS if getattr(request, fmt) is not None]
    if len(given) != 1:
        msg = "give exactly one of " + ", ".join(ROW_FORMATS)
        raise InputProblem("Rows missing or ambiguous", [{"loc": ["body"], "msg": msg}])
    return given[0], getattr(request, given[0])
