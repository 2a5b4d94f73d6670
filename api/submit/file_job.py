"""Turning an uploaded file (CSV, Parquet, JSON Lines) into a stored job whose chunks are queued.

CSV and JSON Lines are cut into chunks while the body streams in, each chunk queued at once, so
workers score the start of a file while its end is still on the wire. Parquet keeps its index at
the end of the file, so it is stored whole first and then cut into runs of row groups.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from api.admission import Admission
from api.deps import Principal
from api.errors import Problem
from api.schemas import JobOptions
from inferq.config import Settings
from inferq.files import layout
from inferq.files.formats import FileFormat
from inferq.files.ingest import StreamIngest
from inferq.files.parquet_plan import plan_parquet, queue_parquet
from inferq.ids import new_job_id
from inferq.jobs.chunks import ChunkLedger
from inferq.jobs.clock import job_clock
from inferq.jobs.intake_lease import IntakeLeases
from inferq.jobs.record import JobRecord
from inferq.jobs.store import JobStore
from inferq.queue import enqueue_chunk
from inferq.redis_client import REDIS_UNAVAILABLE
from inferq.schema import ModelSchema
from inferq.timefmt import now_rfc3339
from inferq.webhooks.registration import check_webhook_registration
from inferq.webhooks.secrets import WebhookSecrets
from models.outputs import check_outputs
from models.registry import ModelRegistry, ModelVersion
from models.routing import Route, route

log = logging.getLogger(__name__)
WRITE_BYTES = 4 * 1024 * 1024
PENDING_CHUNKS = 2


def new_file_record(
    options: JobOptions,
    route: Route,
    principal: Principal,
    settings: Settings,
    fmt: FileFormat,
    seed: str | None = None,
) -> JobRecord:
    """A queued file job's record (not stored yet) for the version `route` chooses by `seed`
    (else by the job's id); 422 for an output the model cannot give."""
    job_id = new_job_id()
    choice = route.choose(seed or job_id)
    model = choice.model
    check_outputs(model.schema, options.outputs)
    rate = options.max_error_rate
    return JobRecord(
        id=job_id,
        tenant=principal.tenant,
        model_name=model.name,
        model_version=model.version,
        model_alias=choice.alias if choice.canary or choice.shadow else None,
        canary=choice.canary,
        shadow_version=choice.shadow,
        created_at=now_rfc3339(),
        input_kind="file",
        input_format=fmt,
        outputs=list(dict.fromkeys(options.outputs)),
        contributions_method=options.asked_contributions_method(),
        passthrough=options.passthrough,
        priority=options.priority,
        max_error_rate=rate if rate is not None else settings.file_max_error_rate,
        metadata=options.metadata,
        webhook=options.webhook.model_dump() if options.webhook else None,
        **job_clock(settings, options.deadline_seconds),
    )


def admit_file_job(
    record: JobRecord, admission: Admission, settings: Settings, store: JobStore
) -> None:
    """Check the job's webhook and count it against its tenant's jobs in flight."""
    check_webhook_registration(record.webhook, record.tenant, settings, WebhookSecrets(store.redis))
    admission.admit_job(record.id)


async def submit_file(
    body: AsyncIterator[bytes],
    fmt: FileFormat,
    options: JobOptions,
    admission: Admission,
    settings: Settings,
    store: JobStore,
    registry: ModelRegistry,
) -> JobRecord:
    """Store and queue a file job from its body's pieces."""
    principal = admission.principal
    routed = await run_in_threadpool(route, registry, options.model, principal.tenant)
    record = new_file_record(options, routed, principal, settings, fmt)
    model = routed.canary if record.canary and routed.canary else routed.primary
    await run_in_threadpool(admit_file_job, record, admission, settings, store)
    ledger = ChunkLedger(store.redis, settings.retention_seconds)
    leases = IntakeLeases(store.redis, settings.intake_lease_seconds)
    async with intake_held(leases, record.id):
        if fmt == "parquet":
            await _submit_parquet(body, record, model, settings, store, registry, ledger)
        else:
            await _submit_stream(body, record, model.schema, store, registry, ledger, settings)
    log.info(
        "file job %s taken in (%s, model %s v%d)",
        record.id, fmt, record.model_name, record.model_version,
        extra={"job_id": record.id, "tenant": record.tenant},
    )  # fmt: skip
    return record


async def _submit_stream(
    body: AsyncIterator[bytes],
    record: JobRecord,
    schema: ModelSchema,
    store: JobStore,
    registry: ModelRegistry,
    ledger: ChunkLedger,
    settings: Settings,
) -> None:
    """Cut a CSV or JSON Lines body into chunks as it streams in, queueing each."""
    ingest = StreamIngest(
        record, schema, registry.storage, store, ledger, settings.file_chunk_bytes
    )
    try:
        await _ingest_stream(body, ingest)
    except BaseException as exc:
        code, message = _abort_reason(exc)
        await run_in_threadpool(ingest.abort, code, message)
        raise


@contextlib.asynccontextmanager
async def intake_held(leases: IntakeLeases, job_id: str) -> AsyncIterator[None]:
    """Hold the job's intake lease while the block takes the upload in, renewed three times a
    lease, and let go when it ends well. If this process dies the lease runs out and the sweep
    fails the job (`intake_interrupted`) instead of leaving it to wait for its deadline. After
    an error the lease stays only for a job stored and not ended (`IntakeLeases.settle`)."""
    await run_in_threadpool(leases.hold, job_id)
    renewing = asyncio.create_task(_renew(leases, job_id))
    try:
        yield
    except BaseException:
        # Called directly: in a cancelled request (client gone) an await would not run.
        leases.settle(job_id)
        raise
    finally:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing
    await run_in_threadpool(leases.release, job_id)


async def _renew(leases: IntakeLeases, job_id: str) -> None:
    while True:
        await asyncio.sleep(leases.lease_seconds / 3)
        try:
            await run_in_threadpool(leases.hold, job_id)
        except REDIS_UNAVAILABLE as exc:  # the upload's own writes will fail too, or it comes back
            log.warning("intake lease of job %s not renewed: %s", job_id, exc)


async def _ingest_stream(body: AsyncIterator[bytes], ingest: StreamIngest) -> None:
    """Feed the body to the ingest on the event loop (it only collects pieces); a second task
    cuts, stores and queues chunks off the loop while reading goes on.

    At most `PENDING_CHUNKS` chunks' worth of pieces wait to be stored, which bounds the API's
    memory.
    """
    pending: asyncio.Queue[list[bytes] | None] = asyncio.Queue(maxsize=PENDING_CHUNKS)

    async def store_chunks() -> None:
        while (pieces := await pending.get()) is not None:
            await run_in_threadpool(ingest.put, pieces)
        await run_in_threadpool(ingest.finish)

    storing = asyncio.create_task(store_chunks())
    try:
        async for piece in body:
            for pieces in ingest.feed(piece):
                await _hand_over(pending, pieces, storing)
        await _hand_over(pending, None, storing)
        await storing
    finally:
        if not storing.done():
            storing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await storing
    await run_in_threadpool(ingest.close)


async def _hand_over(
    pending: asyncio.Queue[list[bytes] | None],
    pieces: list[bytes] | None,
    storing: asyncio.Task[None],
) -> None:
    """Queue pieces for storing, unless storing has already failed (then raise its error)."""
    put = asyncio.ensure_future(pending.put(pieces))
    await asyncio.wait([put, storing], return_when=asyncio.FIRST_COMPLETED)
    if storing.done() and not put.done():
        put.cancel()
    if storing.done() and storing.exception() is not None:
        raise storing.exception()  # type: ignore[misc]


async def _submit_parquet(
    body: AsyncIterator[bytes],
    record: JobRecord,
    model: ModelVersion,
    settings: Settings,
    store: JobStore,
    registry: ModelRegistry,
    ledger: ChunkLedger,
) -> None:
    storage = registry.storage
    key = layout.input_key(record.id, "parquet")
    try:
        await _store_body(body, storage, key)
        specs, rows = await run_in_threadpool(
            plan_parquet,
            storage.url(key),
            model.schema,
            record.passthrough,
            settings.parquet_chunk_rows,
            storage.open_url,
        )
    except BaseException:
        await run_in_threadpool(storage.delete_prefix, layout.job_prefix(record.id))
        raise
    record.input_location = storage.url(key)
    record.result_location = layout.parts_prefix(record.id)
    await run_in_threadpool(store.create, record)
    await run_in_threadpool(queue_parquet, record, specs, rows, ledger, enqueue_chunk)


async def _store_body(body: AsyncIterator[bytes], storage: object, key: str) -> None:
    """Write the body to `key` atomically, a few MiB at a time, never holding it whole."""
    writer = storage.open_atomic(key)  # type: ignore[attr-defined]
    handle = await run_in_threadpool(writer.__enter__)
    buffer = bytearray()
    try:
        async for piece in body:
            buffer += piece
            if len(buffer) >= WRITE_BYTES:
                await run_in_threadpool(handle.write, bytes(buffer))
                buffer.clear()
        await run_in_threadpool(handle.write, bytes(buffer))
    except BaseException as exc:
        await run_in_threadpool(writer.__exit__, type(exc), exc, exc.__traceback__)
        raise
    await run_in_threadpool(writer.__exit__, None, None, None)


def _abort_reason(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, Problem) and exc.status == 413:
        return "upload_too_large", exc.detail
    if isinstance(exc, ClientDisconnect):
        return "upload_incomplete", "the client went away before the upload ended"
    return "upload_failed", f"the upload was not taken in: {type(exc).__name__}"
