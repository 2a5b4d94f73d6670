"""Cutting a Parquet file into chunks of whole row groups, after checking its columns."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from inferq.files.columns import check_columns
from inferq.jobs.chunks import ChunkLedger
from inferq.jobs.record import JobRecord
from inferq.problems import InputProblem
from inferq.schema import ModelSchema
from inferq.storage import Opener, open_url


def plan_parquet(
    url: str,
    schema: ModelSchema,
    passthrough: list[str],
    chunk_rows: int,
    opener: Opener = open_url,
) -> tuple[list[dict[str, Any]], int]:
    """Chunk specs (row groups and first row) and the row count; 422 when columns do not fit."""
    try:
        with opener(url) as handle:
            meta = pq.ParquetFile(handle).metadata
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputProblem("Unreadable file", [{"loc": ["body"], "msg": str(exc)}]) from exc
    arrow = meta.schema.to_arrow_schema()
    check_columns(arrow.names, schema, passthrough, "columns")
    _check_types(arrow, schema)
    specs: list[dict[str, Any]] = []
    first_row = 0
    for group in range(meta.num_row_groups):
        rows = meta.row_group(group).num_rows
        if specs and specs[-1]["rows"] + rows <= chunk_rows:
            specs[-1]["row_groups"].append(group)
            specs[-1]["rows"] += rows
        else:
            specs.append({"row_groups": [group], "first_row": first_row, "rows": rows})
        first_row += rows
    if first_row == 0:
        raise InputProblem("No rows to score", [{"loc": ["body"], "msg": "no data rows"}])
    return specs, first_row


def queue_parquet(
    record: JobRecord, specs: list[dict[str, Any]], rows: int, ledger: ChunkLedger, enqueue: Any
) -> None:
    """Record the totals, then queue every chunk (none can be scored before the totals)."""
    ledger.seal(record.id, len(specs), rows)
    for index, spec in enumerate(specs):
        enqueue(record, index, spec)


def _check_types(arrow: pa.Schema, schema: ModelSchema) -> None:
    errors = []
    for name in schema.feature_names:
        kind = arrow.field(name).type
        if name in schema.string_features:
            fits = pa.types.is_string(kind) or pa.types.is_large_string(kind)
        else:
            fits = pa.types.is_integer(kind) or pa.types.is_floating(kind)
        if not fits:
            errors.append({"loc": ["columns", name], "msg": f"column of type {kind} does not fit"})
    if errors:
        raise InputProblem("Input columns do not match the model", errors)
