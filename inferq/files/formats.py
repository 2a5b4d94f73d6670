"""The input file formats a job may carry, by media type and by file name."""

from __future__ import annotations

from typing import Literal

FileFormat = Literal["csv", "parquet", "jsonl"]

MEDIA_FORMATS: dict[str, FileFormat] = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/vnd.apache.parquet": "parquet",
    "application/x-parquet": "parquet",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/jsonlines": "jsonl",
}
_SUFFIXES: dict[str, FileFormat] = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


def format_of_media(content_type: str | None) -> FileFormat | None:
    """The file format a Content-Type names (parameters ignored), or None."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return MEDIA_FORMATS.get(media)


def format_of_name(name: str) -> FileFormat | None:
    """The file format a file name or URL suggests by its suffix (`.csv.gz` not supported)."""
    lowered = name.lower().split("?", 1)[0]
    for suffix, fmt in _SUFFIXES.items():
        if lowered.endswith(suffix):
            return fmt
    return None
