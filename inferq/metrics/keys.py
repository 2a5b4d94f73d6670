"""Redis layout of the metrics (see docs/metrics.md): hashes under ``inferq:metrics:``."""

from __future__ import annotations

PREFIX = "inferq:metrics"
COUNTERS = f"{PREFIX}:counters"
"""Hash of counter fields ``name`` or ``name|label=value`` to integer totals."""

VERSION_LATENCY = f"{PREFIX}:version_latency"
"""Hash of ``<model>|<version>|sum`` (seconds) and ``|count`` of ended jobs, per model version."""

JOB_STATUS = f"{PREFIX}:job_status"
"""Hash of job status to the number of jobs that are in it now (kept by the job store)."""

#: Upper bounds of each histogram's buckets; +Inf is implied.
BUCKETS: dict[str, tuple[float, ...]] = {
    "job_duration_seconds": (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
    "job_queue_wait_seconds": (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
    "chunk_duration_seconds": (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    "batch_rows": (1, 10, 100, 1_000, 10_000, 50_000, 100_000, 500_000, 1_000_000),
    "sync_request_duration_seconds": (
        0.001,
        0.0025,
        0.005,
        0.01,
        0.025,
        0.05,
        0.1,
        0.25,
        0.5,
        1,
        2.5,
        5,
        10,
        30,
    ),  # fmt: skip
}


def histogram(name: str) -> str:
    """The hash of one histogram: a field per bucket bound (``+Inf`` last), ``sum``, ``count``."""
    return f"{PREFIX}:hist:{name}"


def counter_field(name: str, **labels: str) -> str:
    """The COUNTERS field of a counter with labels, e.g. ``webhook_deliveries|outcome=ok``."""
    return "|".join([name, *(f"{key}={value}" for key, value in sorted(labels.items()))])


def parse_counter_field(field: str) -> tuple[str, dict[str, str]]:
    """The name and labels of a COUNTERS field."""
    name, *pairs = field.split("|")
    return name, dict(pair.split("=", 1) for pair in pairs)
