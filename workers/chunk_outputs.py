"""Reading, scoring and writing one chunk of a file job; nothing here touches the job's state.

A chunk's outputs (its scored part and its errors) are written atomically and are the same
whenever the whole chunk is scored, so a chunk handed out twice changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from inferq.files import layout
from inferq.jobs.record import JobRecord
from workers.chunk_rows import ChunkRows
from workers.context import WorkerContext
from workers.csv_chunks import read_csv_chunk
from workers.jsonl_chunks import read_jsonl_chunk
from workers.model_cache import LoadedModel
from workers.parquet_chunks import read_parquet_chunk
from workers.scoring import score_frame


@dataclass
class ScoredChunk:
    """A chunk's scored rows (the leading ones when scoring stopped early) and its row errors."""

    scored: pd.DataFrame
    rows_failed: int
    whole: bool
    """Every readable row was scored (False: `keep_going` stopped it at a batch boundary)."""
    errors: list[dict[str, Any]] = field(default_factory=list)
    cpu_seconds: float = 0.0
    """Thread CPU time spent scoring the rows (the predict slices)."""

    @property
    def rows_done(self) -> int:
        """How many rows were scored."""
        return len(self.scored)


def score_chunk(
    record: JobRecord,
    index: int,
    spec: dict[str, Any],
    ctx: WorkerContext,
    keep_going: Callable[[int], bool] | None = None,
) -> ScoredChunk:
    """Read and score a chunk; `keep_going` is asked before each predict slice."""
    loaded = ctx.models.get(record.model_name, record.model_version)
    rows = read_chunk(record, index, spec, ctx, loaded.meta.schema)
    started = time.thread_time()
    scored = score_frame(
        loaded.estimator,
        loaded.meta.schema,
        rows.frame,
        record.outputs,
        record.passthrough,
        ctx.settings.predict_batch_rows,
        contributions_method=record.contributions_method,
        keep_going=keep_going,
    )
    cpu_seconds = time.thread_time() - started
    whole = len(scored) == len(rows.frame)
    watch_chunk(ctx, loaded, rows.frame if whole else rows.frame.iloc[: len(scored)], scored)
    return ScoredChunk(scored, rows.failed, whole, rows.errors, cpu_seconds)


def watch_chunk(
    ctx: WorkerContext, loaded: LoadedModel, rows: pd.DataFrame, scored: pd.DataFrame
) -> None:
    """Count a chunk's scored rows for monitoring, in one round trip of their own."""
    names = loaded.meta.schema.feature_names
    columns = {name: rows[name].to_numpy() for name in names}
    predictions = scored["prediction"].to_numpy() if "prediction" in scored else None
    ctx.monitor.observe(loaded, columns, predictions)
    ctx.monitor.send_provisional(force=True)
    ctx.monitor.send(ctx.monitor.flush_write(force=True))


def write_chunk_outputs(
    record: JobRecord, index: int, spec: dict[str, Any], ctx: WorkerContext
) -> ScoredChunk:
    """Score the whole chunk and write its part (and errors)."""
    chunk = score_chunk(record, index, spec, ctx)
    write_part(record.id, index, chunk, ctx)
    return chunk


def write_part(
    job_id: str, index: int, chunk: ScoredChunk, ctx: WorkerContext, shadow: bool = False
) -> None:
    """Write a chunk's scored rows as its part (CSV lines and Arrow) and its errors, each atomic;
    with `shadow`, the shadow version's part (no errors: the primary's are the job's)."""
    table = pa.Table.from_pandas(flat_frame(chunk.scored), preserve_index=False)
    csv_key = layout.shadow_csv_part_key if shadow else layout.csv_part_key
    part_key = layout.shadow_part_key if shadow else layout.part_key
    with ctx.storage.open_atomic(csv_key(job_id, index)) as handle:
        pacsv.write_csv(table, handle, pacsv.WriteOptions(include_header=False))
    # The Arrow part is written last: its presence says the chunk's outputs are complete.
    with (
        ctx.storage.open_atomic(part_key(job_id, index)) as handle,
        pa.ipc.new_file(handle, table.schema) as writer,
    ):
        writer.write_table(table)
    if chunk.errors and not shadow:
        ctx.storage.write_bytes(layout.errors_key(job_id, index), orjson.dumps(chunk.errors))


def flat_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with each column holding lists or objects (passed through from Parquet or JSON
    Lines rows) as JSON text, which every result format can carry (CSV and Arrow's conversion
    of mixed columns cannot)."""
    for name in frame.select_dtypes(include="object", exclude="str").columns:
        if frame[name].map(_nested).any():
            frame[name] = frame[name].map(_json_text)
    return frame


def _nested(value: object) -> bool:
    return isinstance(value, list | dict | tuple | np.ndarray)


def _json_text(value: object) -> str | None:
    if not _nested(value) and pd.isna(value):
        return None
    return orjson.dumps(value, default=str, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def release_memory() -> None:
    """Hand Arrow's freed buffers back, so a long job's peak memory stays one chunk's worth."""
    pa.default_memory_pool().release_unused()


def read_chunk(
    record: JobRecord, index: int, spec: dict[str, Any], ctx: WorkerContext, schema: Any
) -> ChunkRows:
    """The rows of one chunk, whatever the job's input format."""
    if record.input_format == "parquet":
        url = record.input_location or ""
        return read_parquet_chunk(
            url,
            spec["row_groups"],
            spec["first_row"],
            schema,
            record.passthrough,
            ctx.storage.open_url,
        )
    data = ctx.storage.read_bytes(layout.chunk_key(record.id, index))
    if record.input_format == "jsonl":
        return read_jsonl_chunk(data, spec["first_line"], schema, record.passthrough)
    header = ctx.storage.read_bytes(layout.header_key(record.id))
    return read_csv_chunk(header, data, spec["first_line"], schema, record.passthrough)
