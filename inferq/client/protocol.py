"""What the sync and async clients share: request bodies, the job object, SSE and tables."""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import httpx
import orjson
import pandas as pd

from inferq.client.errors import error_from_response

DEFAULT_URL = "http://127.0.0.1:8000"
UPLOAD_CHUNK_BYTES = 1024 * 1024
TERMINAL = frozenset({"succeeded", "failed", "cancelled", "expired"})
FILE_TYPES = {
    ".csv": "text/csv",
    ".parquet": "application/vnd.apache.parquet",
    ".pq": "application/vnd.apache.parquet",
    ".jsonl": "application/x-ndjson",
    ".ndjson": "application/x-ndjson",
}
Rows: TypeAlias = pd.DataFrame | list[dict[str, Any]] | list[list[Any]] | dict[str, Any]


@dataclass(frozen=True)
class Job:
    """A job as the API last described it."""

    id: str
    status: str
    model: str
    model_version: int
    created_at: str
    started_at: str | None
    finished_at: str | None
    rows_total: int | None
    rows_done: int
    rows_failed: int
    error: dict[str, Any] | None
    metadata: dict[str, Any]
    links: dict[str, str]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def terminal(self) -> bool:
        """Whether the job has ended for good."""
        return self.status in TERMINAL

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Job:
        """The job object of an API answer."""
        progress = body.get("progress") or {}
        model = body.get("model") or {}
        return cls(
            id=body["id"],
            status=body["status"],
            model=model.get("name", ""),
            model_version=model.get("version", 0),
            created_at=body.get("created_at", ""),
            started_at=body.get("started_at"),
            finished_at=body.get("finished_at"),
            rows_total=progress.get("rows_total"),
            rows_done=progress.get("rows_done", 0),
            rows_failed=progress.get("rows_failed", 0),
            error=body.get("error"),
            metadata=body.get("metadata") or {},
            links=body.get("links") or {},
            raw=body,
        )


@dataclass(frozen=True)
class JobPage:
    """One page of `list`; pass `next_cursor` as `cursor` for the next."""

    jobs: list[Job]
    next_cursor: str | None


@dataclass(frozen=True)
class JobEvent:
    """One Server-Sent Event of a job: `status` (with `status`) or `progress` (row counts)."""

    kind: str
    data: dict[str, str]


def env_url(url: str | None) -> str:
    """The API URL: the argument, else INFERQ_URL, else the local default."""
    return (url or os.environ.get("INFERQ_URL") or DEFAULT_URL).rstrip("/")


def env_api_key(api_key: str | None) -> str | None:
    """The API key: the argument, else INFERQ_API_KEY, else none."""
    return api_key or os.environ.get("INFERQ_API_KEY") or None


def auth_headers(api_key: str | None) -> dict[str, str]:
    """Headers every request carries."""
    headers = {"User-Agent": "inferq-client/0.1"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


def job_options(
    model: str,
    *,
    outputs: Iterable[str] | None = None,
    contributions_method: str | None = None,
    passthrough: Iterable[str] | None = None,
    priority: str | None = None,
    metadata: dict[str, Any] | None = None,
    webhook: dict[str, Any] | None = None,
    max_error_rate: float | None = None,
) -> dict[str, Any]:
    """The job options that were given, as API fields."""
    options: dict[str, Any] = {"model": model}
    if outputs is not None:
        options["outputs"] = list(outputs)
    if passthrough is not None:
        options["passthrough"] = list(passthrough)
    for name, value in (
        ("contributions_method", contributions_method),
        ("priority", priority),
        ("metadata", metadata),
        ("webhook", webhook),
        ("max_error_rate", max_error_rate),
    ):
        if value is not None:
            options[name] = value
    return options


def rows_payload(rows: Rows) -> dict[str, Any]:
    """Rows in the MLflow format that fits them: a DataFrame or columns/data as split."""
    if isinstance(rows, pd.DataFrame):
        # pandas writes NaN as null and numpy scalars as plain JSON numbers.
        return {"dataframe_split": orjson.loads(rows.to_json(orient="split", index=False))}
    if isinstance(rows, dict):
        return {"dataframe_split": rows}
    if rows and isinstance(rows[0], dict):
        return {"dataframe_records": rows}
    return {"instances": rows}


def query_options(options: dict[str, Any]) -> dict[str, str]:
    """Job options as query parameters for a file upload (lists comma-separated)."""
    query: dict[str, str] = {}
    for name, value in options.items():
        if isinstance(value, list):
            query[name] = ",".join(value)
        elif isinstance(value, dict):
            query[name] = orjson.dumps(value).decode()
        else:
            query[name] = str(value)
    return query


def file_content_type(path: Path, content_type: str | None) -> str:
    """The media type of an input file: the given one, else from its suffix."""
    if content_type:
        return content_type
    try:
        return FILE_TYPES[path.suffix.lower()]
    except KeyError:
        known = ", ".join(sorted(FILE_TYPES))
        raise ValueError(f"cannot tell the type of {path.name}; use one of {known}") from None


def check(response: httpx.Response) -> httpx.Response:
    """The response if it is a success; the typed error otherwise."""
    if response.is_success:
        return response
    raise error_from_response(response)


def table_frame(content: bytes, fmt: str) -> pd.DataFrame:
    """A results body (parquet, csv, jsonl or columns/data JSON) as a DataFrame."""
    if fmt == "parquet":
        return pd.read_parquet(io.BytesIO(content))
    if fmt == "csv":
        return pd.read_csv(io.BytesIO(content))
    if fmt == "jsonl":
        return pd.read_json(io.BytesIO(content), lines=True)
    table = orjson.loads(content)
    return pd.DataFrame(table["data"], columns=table["columns"])


class SSEDecoder:
    """Incremental SSE parsing for streams read line by line (sync or async)."""

    def __init__(self) -> None:
        self.kind = "message"
        self.data: list[str] = []

    def feed(self, line: str) -> JobEvent | None:
        """Take one line; return an event when a blank line completes one."""
        if line:
            if line.startswith("event:"):
                self.kind = line[6:].strip()
            elif line.startswith("data:"):
                self.data.append(line[5:].strip())
            return None
        event = JobEvent(self.kind, orjson.loads("\n".join(self.data))) if self.data else None
        self.kind, self.data = "message", []
        return event
