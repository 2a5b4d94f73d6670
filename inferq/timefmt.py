"""Timestamps as the API shows them: RFC 3339 UTC strings."""

from __future__ import annotations

from datetime import UTC, datetime


def now_rfc3339() -> str:
    """The current time as an RFC 3339 UTC string with millisecond precision."""
    return _format(datetime.now(UTC))


def rfc3339(epoch: float) -> str:
    """An epoch time in seconds as an RFC 3339 UTC string with millisecond precision."""
    return _format(datetime.fromtimestamp(epoch, UTC))


def rfc3339_from_unix(unix: float | None) -> str | None:
    """A Unix time as an RFC 3339 UTC string (None stays None)."""
    return None if unix is None else rfc3339(unix)


def _format(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
