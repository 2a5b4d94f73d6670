"""Reading one JSON Lines chunk: one JSON object per line, values typed as in JSON jobs."""

from __future__ import annotations

import math
from typing import Any

import orjson
import pandas as pd

from inferq.schema import ModelSchema
from workers.chunk_rows import MISSING, NOT_FINITE, ChunkRows, wanted_columns


def read_jsonl_chunk(
    data: bytes, first_line: int, schema: ModelSchema, passthrough: list[str]
) -> ChunkRows:
    """The chunk's rows; errors name the 1-based line of the file."""
    wanted = wanted_columns(schema, passthrough)
    strings = schema.string_features
    numeric = [name for name in schema.feature_names if name not in strings]
    rows: list[list[Any]] = []
    errors: list[dict[str, Any]] = []
    for offset, raw in enumerate(data.split(b"\n")):
        line = first_line + offset
        if not raw.strip():
            continue
        problems = _line_problems(raw, wanted, numeric, strings, schema.allow_nan)
        if isinstance(problems, list):
            errors += [{"line": line, "column": col, "msg": msg} for col, msg in problems]
            continue
        rows.append([problems.get(name) for name in wanted])
    frame = pd.DataFrame(rows, columns=wanted)
    if numeric:
        frame = frame.astype(dict.fromkeys(numeric, "float64"))
    return ChunkRows(frame, errors)


def _line_problems(
    raw: bytes, wanted: list[str], numeric: list[str], strings: set[str], allow_nan: bool
) -> dict[str, Any] | list[tuple[str | None, str]]:
    """The line's object, or its problems as (column, message) pairs."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return [(None, f"not JSON: {exc}")]
    if not isinstance(value, dict):
        return [(None, "expected a JSON object")]
    problems: list[tuple[str | None, str]] = [
        (name, "missing column") for name in wanted if name not in value
    ]
    for name in numeric:
        item = value.get(name)
        if name not in value:
            continue
        if item is None:
            if not allow_nan:
                problems.append((name, MISSING))
        elif isinstance(item, bool) or not isinstance(item, int | float):
            problems.append((name, f"expected a number, got {item!r}"))
        elif isinstance(item, float) and not math.isfinite(item):
            problems.append((name, NOT_FINITE))
    for name in strings:
        if name in value and not isinstance(value[name], str):
            problems.append((name, f"expected a category string, got {value[name]!r}"))
    return problems or value
