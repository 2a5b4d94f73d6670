"""Where a file job keeps its files in storage: input chunks, scored parts and row errors."""

from __future__ import annotations


def job_prefix(job_id: str) -> str:
    """The folder holding everything of one job."""
    return f"jobs/{job_id}"


def header_key(job_id: str) -> str:
    """The CSV header line, shared by every chunk."""
    return f"jobs/{job_id}/input/header.csv"


def input_key(job_id: str, fmt: str) -> str:
    """The whole uploaded file, for formats cut after upload (Parquet)."""
    return f"jobs/{job_id}/input/input.{fmt}"


def chunk_key(job_id: str, index: int) -> str:
    """The bytes of one line-aligned chunk of a CSV or JSON Lines upload."""
    return f"jobs/{job_id}/input/chunk-{index:06d}"


def part_key(job_id: str, index: int) -> str:
    """The scored rows of one chunk (Arrow IPC file), in input order within the chunk."""
    return f"jobs/{job_id}/parts/part-{index:06d}.arrow"


def csv_part_key(job_id: str, index: int) -> str:
    """The same scored rows as CSV lines without a header, so CSV downloads are plain copies."""
    return f"jobs/{job_id}/parts/part-{index:06d}.csv"


def errors_key(job_id: str, index: int) -> str:
    """The per-row errors of one chunk (JSON list)."""
    return f"jobs/{job_id}/errors/errors-{index:06d}.json"


def parts_prefix(job_id: str) -> str:
    """The folder of scored parts: the job's result location."""
    return f"jobs/{job_id}/parts"


def shadow_part_key(job_id: str, index: int) -> str:
    """The same chunk's rows scored by the alias's shadow version (Arrow IPC file)."""
    return f"jobs/{job_id}/shadow/part-{index:06d}.arrow"


def shadow_csv_part_key(job_id: str, index: int) -> str:
    """The shadow's scored rows of one chunk as CSV lines without a header."""
    return f"jobs/{job_id}/shadow/part-{index:06d}.csv"
