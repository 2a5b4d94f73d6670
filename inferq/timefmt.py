"""Timestamps as the API shows them: RFC 3339 UTC strings."""

from __future__ import annotations

from datetime import UTC, datetime


def now_rfc3339() -> str:
    """The current time as an RFC 3339 UTC string with millisecond precision."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def rfc3339(epoch: float) -> str:
    """An epoch time in seconds as an RFC 3339 UTC string with millisecond precision."""
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )
