"""Reading one CSV chunk: Arrow's fast reader when the chunk is clean, Python's csv when not.

Arrow cannot say on which line a bad record or value sits once quoted fields may hold newlines,
so a chunk with any problem is read again, record by record, to name each bad line.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from inferq.files.columns import parse_header
from inferq.schema import ModelSchema
from workers.chunk_rows import ChunkRows, check_text_rows, wanted_columns


class _Unclean(Exception):
    """The chunk has a bad record or value: read it carefully."""


def read_csv_chunk(
    header: bytes, data: bytes, first_line: int, schema: ModelSchema, passthrough: list[str]
) -> ChunkRows:
    """The chunk's rows; `first_line` is the input line the chunk starts on (header is line 1)."""
    try:
        return ChunkRows(_read_fast(header, data, schema, passthrough))
    except _Unclean:
        return _read_careful(header, data, first_line, schema, passthrough)


def _read_fast(header: bytes, data: bytes, schema: ModelSchema, passthrough: list[str]) -> Any:
    wanted = wanted_columns(schema, passthrough)
    types = {
        name: pa.float64()
        if name in schema.feature_names and name not in schema.string_features
        else pa.string()
        for name in wanted
    }
    invalid: list[Any] = []

    def on_invalid(row: Any) -> str:
        invalid.append(row)
        return "skip"

    parse = pacsv.ParseOptions(newlines_in_values=b'"' in data, invalid_row_handler=on_invalid)
    convert = pacsv.ConvertOptions(
        column_types=types, include_columns=wanted, strings_can_be_null=False
    )
    try:
        table = pacsv.read_csv(
            pa.py_buffer(header + data), parse_options=parse, convert_options=convert
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise _Unclean from exc
    if invalid:
        raise _Unclean
    for name, kind in types.items():
        if kind == pa.float64() and name in schema.feature_names:
            column = table.column(name)
            if column.null_count and not schema.allow_nan:
                raise _Unclean
            values = column.to_numpy(zero_copy_only=False)
            if column.null_count:
                values = values[column.is_valid()]
            if not np.isfinite(values).all():
                raise _Unclean
    return table.to_pandas()


def _read_careful(
    header: bytes, data: bytes, first_line: int, schema: ModelSchema, passthrough: list[str]
) -> ChunkRows:
    columns = parse_header(header)
    width = len(columns)
    positions = {name: columns.index(name) for name in wanted_columns(schema, passthrough)}
    texts: dict[str, list[str]] = {name: [] for name in positions}
    places: list[int] = []
    errors: list[dict[str, Any]] = []
    reader = csv.reader(io.StringIO(data.decode("utf-8", errors="replace"), newline="\n"))
    consumed = 0
    while True:
        line = first_line + consumed
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append({"line": line, "column": None, "msg": f"unreadable record: {exc}"})
            consumed = reader.line_num
            continue
        consumed = reader.line_num
        if not record:
            continue
        if len(record) != width:
            msg = f"expected {width} fields, got {len(record)}"
            errors.append({"line": line, "column": None, "msg": msg})
            continue
        places.append(line)
        for name, position in positions.items():
            texts[name].append(record[position])
    frame = check_text_rows(texts, places, schema, "line", errors)
    return ChunkRows(frame, errors)
