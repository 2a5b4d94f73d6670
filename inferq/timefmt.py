"""Timestamps as the API shows them: RFC 3339 UTC strings."""

from __future__ import annotations

import math
import time

#: The last whole second formatted, and its text: every job object shows a few timestamps,
#: and formatting them through `datetime` was ~2% of the API's CPU on one-row jobs (py-spy).
_last_second: tuple[float, str] = (math.nan, "")


def now_rfc3339() -> str:
    """The current time as an RFC 3339 UTC string with millisecond precision."""
    return rfc3339(time.time())


def rfc3339(epoch: float) -> str:
    """An epoch time in seconds as an RFC 3339 UTC string with millisecond precision (the
    milliseconds truncated, after rounding to the microsecond as `datetime` does)."""
    global _last_second
    fraction, whole = math.modf(epoch)
    micros = round(fraction * 1e6)
    if micros >= 1_000_000:
        whole, micros = whole + 1, micros - 1_000_000
    elif micros < 0:
        whole, micros = whole - 1, micros + 1_000_000
    second, text = _last_second
    if second != whole:
        moment = time.gmtime(whole)
        text = (
            f"{moment.tm_year:04d}-{moment.tm_mon:02d}-{moment.tm_mday:02d}"
            f"T{moment.tm_hour:02d}:{moment.tm_min:02d}:{moment.tm_sec:02d}"
        )
        _last_second = (whole, text)
    return f"{text}.{micros // 1000:03d}Z"


def rfc3339_from_unix(unix: float | None) -> str | None:
    """A Unix time as an RFC 3339 UTC string (None stays None)."""
    return None if unix is None else rfc3339(unix)
