"""Serving a file job's results and errors from its parts in storage, streamed in input order.

Parts are read one at a time, so serving a 10-million-row result holds one part in memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from api.reads.results import ResultFormat
from inferq.files import layout
from inferq.jobs.record import JobRecord
from inferq.storage import Storage

BATCH_ROWS = 10_000
COPY_BYTES = 1024 * 1024


def _part_keys(shadow: bool) -> tuple[Callable[[str, int], str], Callable[[str, int], str]]:
    """Where the Arrow and CSV parts are: the primary's, or the shadow version's."""
    if shadow:
        return layout.shadow_part_key, layout.shadow_csv_part_key
    return layout.part_key, layout.csv_part_key


def scored_parts(storage: Storage, record: JobRecord, shadow: bool = False) -> Iterator[pa.Table]:
    """The scored parts of the job that exist, in input order, skipping empty ones."""
    part_key, _ = _part_keys(shadow)
    for index in range(record.chunks_total or 0):
        key = part_key(record.id, index)
        if not storage.exists(key):
            continue
        with storage.open_read(key) as handle:
            table = pa.ipc.open_file(handle).read_all()
        if table.num_rows:
            yield table


def has_scored_rows(storage: Storage, record: JobRecord, shadow: bool = False) -> bool:
    """Whether any chunk of the job was scored (by the shadow version, with `shadow`)."""
    part_key, _ = _part_keys(shadow)
    indexes = range(record.chunks_total or 0)
    return any(storage.exists(part_key(record.id, index)) for index in indexes)


def stream_results(
    storage: Storage, record: JobRecord, fmt: ResultFormat, shadow: bool = False
) -> Iterator[bytes]:
    """The job's scored rows in `fmt`, part after part (the shadow version's, with `shadow`)."""
    if fmt == "csv":
        return _csv(storage, record, shadow)
    parts = _consistent(scored_parts(storage, record, shadow))
    if fmt == "jsonl":
        return (line for table in parts for line in _jsonl_lines(table))
    if fmt == "parquet":
        return _parquet(parts)
    return _json(parts)


def _consistent(parts: Iterator[pa.Table]) -> Iterator[pa.Table]:
    """Parts cast to the first one's schema (a column typed null in one part stays typeable)."""
    schema = None
    for table in parts:
        if schema is None:
            schema = table.schema
        yield table if table.schema == schema else table.cast(schema)


def _csv(storage: Storage, record: JobRecord, shadow: bool) -> Iterator[bytes]:
    """The header from the first part's schema, then each part's CSV lines copied as they are."""
    part_key, csv_part_key = _part_keys(shadow)
    header = False
    for index in range(record.chunks_total or 0):
        if not storage.exists(part_key(record.id, index)):
            continue
        if not header:
            with storage.open_read(part_key(record.id, index)) as handle:
                schema = pa.ipc.open_file(handle).schema
            sink = io.BytesIO()
            pacsv.write_csv(schema.empty_table(), sink)
            yield sink.getvalue()
            header = True
        with storage.open_read(csv_part_key(record.id, index)) as handle:
            while piece := handle.read(COPY_BYTES):
                yield piece


def _rows(table: pa.Table) -> Iterator[list[Any]]:
    for batch in table.to_batches(max_chunksize=BATCH_ROWS):
        yield from zip(*(column.to_pylist() for column in batch.columns), strict=True)


def _jsonl_lines(table: pa.Table) -> Iterator[bytes]:
    for batch in table.to_batches(max_chunksize=BATCH_ROWS):
        yield b"".join(orjson.dumps(row) + b"\n" for row in batch.to_pylist())


def _json(parts: Iterator[pa.Table]) -> Iterator[bytes]:
    first = True
    for table in parts:
        if first:
            yield b'{"columns":' + orjson.dumps(table.column_names) + b',"data":['
        for rows in _batched(_rows(table)):
            lead = b"" if first else b","
            first = False
            yield lead + b",".join(orjson.dumps(list(row)) for row in rows)
    yield b'{"columns":[],"data":[]}' if first else b"]}"


def _batched(rows: Iterator[Any]) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


class _Drain(io.RawIOBase):
    """A write-only sink whose bytes are taken out after each part."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.buffer += data
        return len(data)

    def take(self) -> bytes:
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


def _parquet(parts: Iterator[pa.Table]) -> Iterator[bytes]:
    sink = _Drain()
    writer = None
    for table in parts:
        writer = writer or pq.ParquetWriter(sink, table.schema)
        writer.write_table(table)
        yield sink.take()
    if writer is not None:
        writer.close()
        yield sink.take()


def chunk_errors(storage: Storage, record: JobRecord) -> Iterator[list[dict[str, Any]]]:
    """The per-row errors of each chunk that had some, in input order."""
    for index in range(record.chunks_total or 0):
        key = layout.errors_key(record.id, index)
        if storage.exists(key):
            yield orjson.loads(storage.read_bytes(key))


def all_errors(storage: Storage, record: JobRecord) -> list[dict[str, Any]]:
    """Every per-row error of a file job in one list (for Parquet downloads of errors)."""
    return [error for errors in chunk_errors(storage, record) for error in errors]


def stream_errors(storage: Storage, record: JobRecord, fmt: ResultFormat) -> Iterator[bytes]:
    """A file job's errors as JSON `{"data": [...]}`, CSV or JSON Lines, chunk after chunk."""
    key = "row" if record.input_format == "parquet" else "line"
    if fmt == "csv":
        yield f"{key},column,msg\n".encode()
        for errors in chunk_errors(storage, record):
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\n")
            writer.writerows([e[key], e.get("column") or "", e["msg"]] for e in errors)
            yield text.getvalue().encode()
        return
    if fmt == "jsonl":
        for errors in chunk_errors(storage, record):
            yield b"".join(orjson.dumps(error) + b"\n" for error in errors)
        return
    yield b'{"data":['
    first = True
    for errors in chunk_errors(storage, record):
        if errors:
            yield (b"" if first else b",") + b",".join(orjson.dumps(e) for e in errors)
            first = False
    yield b"]}"
