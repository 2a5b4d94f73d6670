"""Turning a reference file or a succeeded job's inputs into a stored reference profile."""

from __future__ import annotations

import io
from typing import Any

import orjson
import pandas as pd
from starlette.datastructures import UploadFile

from api.errors import Problem
from inferq.config import Settings
from inferq.files import layout
from inferq.jobs import keys as job_keys
from inferq.jobs.record import JobStatus
from inferq.jobs.store import JobStore
from inferq.monitoring.reference import Reference, ReferenceStore, build_reference, sample_columns
from inferq.storage import Storage
from models.registry import ModelRegistry, ModelVersion

MIN_REFERENCE_ROWS = 100
"""Fewer rows than this say too little about a distribution to compare traffic with."""


def reference_from_bytes(data: bytes, filename: str) -> pd.DataFrame:
    """A reference file's rows: Parquet (by its magic bytes or name) or CSV; 422 if unreadable."""
    try:
        if data[:4] == b"PAR1" or filename.lower().endswith(".parquet"):
            return pd.read_parquet(io.BytesIO(data))
        return pd.read_csv(io.BytesIO(data))
    except Exception as exc:  # whatever the parsers raise on a bad file is the caller's answer
        raise invalid("file", f"cannot read the file as CSV or Parquet: {exc}") from exc


async def read_reference(upload: UploadFile, settings: Settings) -> tuple[bytes, str]:
    """A reference file part's bytes and name; 413 past `max_reference_bytes`."""
    limit = settings.max_reference_bytes
    if upload.size is not None and upload.size > limit:
        raise Problem(413, f"the reference file is over {limit} bytes")
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise Problem(413, f"the reference file is over {limit} bytes")
    return data, upload.filename or ""


def upload_reference(data: bytes, filename: str) -> pd.DataFrame:
    """A reference part sent with a model upload, read and counted before the version is
    registered (its features are checked once the model's schema is known)."""
    frame = reference_from_bytes(data, filename)
    _check_rows(frame, "reference")
    return frame


def new_version_reference(
    frame: pd.DataFrame, version: ModelVersion, settings: Settings, registry: ModelRegistry
) -> Reference:
    """Make an upload's reference part the new version's reference profile."""
    references = ReferenceStore(registry.redis)
    try:
        return store_reference(frame, version, "file", settings, references)
    except Problem as exc:
        detail = f"version {version.version} was registered without a reference: {exc.detail}"
        raise invalid("reference", detail) from exc


def reference_from_job(
    job_id: str, version: ModelVersion, tenant: str, store: JobStore, storage: Storage
) -> pd.DataFrame:
    """The inputs of a succeeded job of the caller's on the same model; 422 naming `job`."""
    record = store.get(job_id)
    if record is None or record.tenant != tenant:
        raise invalid("job", f"no job {job_id!r}")
    if record.status != JobStatus.SUCCEEDED or record.model_name != version.name:
        raise invalid("job", f"job {job_id!r} is not a succeeded job of model {version.name!r}")
    try:
        if record.input_kind == "inline":
            raw = store.redis.get(job_keys.job_input(job_id))
            if raw is None:
                raise FileNotFoundError(job_id)
            rows = orjson.loads(raw)
            return pd.DataFrame(rows["data"], columns=rows["columns"])
        return _file_job_inputs(record.id, record.input_format, record.chunks_total, storage)
    except FileNotFoundError as exc:
        raise invalid("job", f"the inputs of job {job_id!r} are gone (expired?)") from exc


def _file_job_inputs(
    job_id: str, fmt: str | None, chunks: int | None, storage: Storage
) -> pd.DataFrame:
    if fmt not in ("csv", "jsonl") or not chunks:
        raise invalid("job", f"a reference cannot be taken from a {fmt} job's inputs yet")
    parts = [storage.read_bytes(layout.chunk_key(job_id, i)) for i in range(chunks)]
    if fmt == "jsonl":
        return pd.read_json(io.BytesIO(b"".join(parts)), lines=True)
    header = storage.read_bytes(layout.header_key(job_id))
    return pd.read_csv(io.BytesIO(header + b"".join(parts)))


def store_reference(
    frame: pd.DataFrame,
    version: ModelVersion,
    source: str,
    settings: Settings,
    references: ReferenceStore,
    job: str | None = None,
) -> Reference:
    """Check the rows, profile them and make them the version's reference."""
    schema = version.schema
    missing = [name for name in schema.feature_names if name not in frame.columns]
    if missing:
        raise invalid("file", f"the reference misses the model's features: {', '.join(missing)}")
    _check_rows(frame, "file")
    frame = _typed(frame[schema.feature_names], schema.string_features)
    ref = build_reference(frame, schema, source, settings.monitoring_bins, job=job)
    references.save(version.name, version.version, ref, sample_columns(frame, schema.feature_names))
    return ref


def _check_rows(frame: pd.DataFrame, field_name: str) -> None:
    if len(frame) < MIN_REFERENCE_ROWS:
        msg = f"the reference has {len(frame)} rows; at least {MIN_REFERENCE_ROWS} needed"
        raise invalid(field_name, msg)


def _typed(frame: pd.DataFrame, strings: set[str]) -> pd.DataFrame:
    """Numeric features as numbers (unreadable values become missing), categories as text."""
    columns: dict[str, Any] = {}
    for name in frame.columns:
        column = frame[name]
        if name in strings:
            columns[name] = column.astype(object).where(column.notna(), None)
        else:
            columns[name] = pd.to_numeric(column, errors="coerce").astype("float64")
    return pd.DataFrame(columns)


def invalid(field_name: str, msg: str) -> Problem:
    """A 422 naming the body field at fault."""
    return Problem(
        422, msg, title="Invalid reference", errors=[{"loc": ["body", field_name], "msg": msg}]
    )
