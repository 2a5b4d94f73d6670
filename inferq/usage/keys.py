"""Redis layout of usage: one hash per tenant per day, a field per model and measure."""

from __future__ import annotations

from datetime import UTC, date, datetime

PREFIX = "inferq:usage"
TENANT_ROWS = f"{PREFIX}:tenant_rows"
"""Hash of tenant to rows scored since metering began (`inferq_tenant_rows_total`); never
expires, one field per tenant."""

MEASURES = (
    "jobs",
    "sync_requests",
    "rows_scored",
    "rows_failed",
    "cpu_us",
    "bytes_in",
    "bytes_out",
)
"""What is counted, each an integer (CPU time in microseconds)."""


def day_key(tenant: str, day: date) -> str:
    """The hash of one tenant's usage on one UTC day."""
    return f"{PREFIX}:day:{tenant}:{day.isoformat()}"


def today() -> date:
    """The UTC day now (usage days are UTC days)."""
    return datetime.now(UTC).date()


def field(model: str, measure: str) -> str:
    """A day hash's field: ``<model>|<measure>`` (model names never hold ``|``)."""
    return f"{model}|{measure}"


def parse_field(name: str) -> tuple[str, str]:
    """The model and measure of a day hash's field."""
    model, _, measure = name.rpartition("|")
    return model, measure
