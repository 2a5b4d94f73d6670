"""Jobs over a file the workers read themselves: `{"model": ..., "input_uri": ...}`."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from api.admission import Admission
from api.schemas import JobCreate
from api.submit.file_job import admit_file_job, new_file_record
from inferq.config import Settings
from inferq.files import layout
from inferq.files.formats import format_of_name
from inferq.files.ingest import MAX_HEADER_BYTES, check_first_record, read_first_record
from inferq.files.parquet_plan import plan_parquet, queue_parquet
from inferq.jobs.chunks import ChunkLedger
from inferq.jobs.idempotency import IdempotencyMark
from inferq.jobs.intake_lease import IntakeLeases
from inferq.jobs.record import JobRecord
from inferq.jobs.store import JobStore
from inferq.json_rows import ROW_FORMATS
from inferq.problems import InputProblem
from inferq.queue import enqueue_chunk, enqueue_split
from inferq.storage import open_url
from models.registry import ModelRegistry
from models.routing import route


def submit_uri_job(
    job: JobCreate,
    admission: Admission,
    settings: Settings,
    store: JobStore,
    registry: ModelRegistry,
    idempotency: IdempotencyMark | None = None,
) -> JobRecord:
    """Check the URI and the file's columns, store the job and queue its cutting or chunks."""
    if any(getattr(job, fmt) is not None for fmt in ROW_FORMATS):
        raise _problem(["body"], "give either rows or input_uri, not both")
    uri = allowed_uri(job.input_uri or "", settings)
    fmt = job.input_format or format_of_name(uri)
    if fmt is None:
        raise _problem(["body", "input_format"], "say the format: csv, parquet or jsonl")
    routed = route(registry, job.model, admission.principal.tenant)
    seed = idempotency.redis_key if idempotency else None
    record = new_file_record(job, routed, admission.principal, settings, fmt, seed)
    model = routed.canary if record.canary and routed.canary else routed.primary
    admit_file_job(record, admission, settings, store)
    record.input_location = uri
    record.result_location = layout.parts_prefix(record.id)
    ledger = ChunkLedger(store.redis, settings.retention_seconds)
    # Between storing the job and queueing its work, this process's death would strand it.
    intake = IntakeLeases(store.redis, settings.intake_lease_seconds).held(record.id)
    if fmt == "parquet":
        specs, rows = plan_parquet(uri, model.schema, job.passthrough, settings.parquet_chunk_rows)
        with intake:
            store.create(record, idempotency=idempotency)
            queue_parquet(record, specs, rows, ledger, enqueue_chunk)
        return record
    try:
        with open_url(uri) as handle:
            opening = handle.read(MAX_HEADER_BYTES)
    except OSError as exc:
        raise _problem(["body", "input_uri"], f"cannot read it: {exc}") from exc
    check_first_record(read_first_record(opening, fmt == "csv"), fmt, model.schema, record)
    with intake:
        store.create(record, idempotency=idempotency)
        enqueue_split(record)
    return record


def allowed_uri(uri: str, settings: Settings) -> str:
    """The URI as workers will open it; 422 unless under an allowed root or of an allowed scheme."""
    scheme, path = _local_path(uri)
    if path is not None:
        for root in settings.input_root_paths:
            if path.is_relative_to(root):
                return path.as_uri()
        raise _problem(["body", "input_uri"], "local paths must lie inside an allowed input root")
    if scheme not in settings.input_schemes:
        raise _problem(["body", "input_uri"], f"the {scheme!r} scheme is not enabled")
    return uri


def _local_path(uri: str) -> tuple[str, Path | None]:
    """The URI's scheme, and the path it names when it is a local one; 422 when malformed."""
    try:
        parts = urlsplit(uri)
        scheme = parts.scheme.lower()
        if scheme not in ("", "file"):
            return scheme, None
        return scheme, Path(parts.path if scheme else uri).resolve()
    except ValueError as exc:  # an unclosed `[` host, a NUL byte in the path
        raise _problem(["body", "input_uri"], f"not a URI: {exc}") from exc


def _problem(loc: list[str], msg: str) -> InputProblem:
    return InputProblem("Invalid input_uri job", [{"loc": loc, "msg": msg}])
