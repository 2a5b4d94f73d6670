"""Serving scored rows and errors in the format the client asks for."""

from __future__ import annotations

import io
from typing import Any, Literal

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ResultFormat = Literal["json", "csv", "jsonl", "parquet"]
MEDIA_TYPES: dict[str, str] = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
}
_ACCEPT = {
    "text/csv": "csv",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/vnd.apache.parquet": "parquet",
    "application/json": "json",
}


def negotiate(fmt: str | None, accept: str | None) -> ResultFormat:
    """The format named by `?format=`, else the first known type in Accept, else JSON."""
    if fmt:
        return fmt  # type: ignore[return-value]  # already checked by the route's Literal
    for part in (accept or "").split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media in _ACCEPT:
            return _ACCEPT[media]  # type: ignore[return-value]
    return "json"


def render_table(table_json: bytes, fmt: ResultFormat) -> bytes:
    """A columns/data JSON document rendered as JSON, CSV, JSON Lines or Parquet."""
    if fmt == "json":
        return table_json
    table = orjson.loads(table_json)
    frame = pd.DataFrame(table["data"], columns=table["columns"])
    return render_frame(frame, fmt)


def render_frame(frame: pd.DataFrame, fmt: ResultFormat) -> bytes:
    """A DataFrame in one of the result formats."""
    if fmt == "csv":
        return frame.to_csv(index=False).encode()
    if fmt == "jsonl":
        return b"".join(orjson.dumps(row) + b"\n" for row in frame.to_dict("records"))
    if fmt == "parquet":
        sink = io.BytesIO()
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
        return sink.getvalue()
    return orjson.dumps({"columns": list(frame.columns), "data": frame.to_numpy().tolist()})


def render_errors(errors: list[dict[str, Any]], fmt: ResultFormat) -> bytes:
    """Per-row errors as JSON `{"data": [...]}` or in a tabular format."""
    if fmt == "json":
        return orjson.dumps({"data": errors})
    columns = sorted({key for error in errors for key in error}) or ["row", "column", "msg"]
    return render_frame(pd.DataFrame(errors, columns=columns), fmt)
