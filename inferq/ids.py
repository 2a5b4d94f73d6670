"""Identifiers that sort by creation time (ULID layout: 48-bit milliseconds, 80 random bits)."""

from __future__ import annotations

import os
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
JOB_ID_PATTERN = r"^job_[0-9A-HJKMNP-TV-Z]{26}$"
"""What `new_job_id` makes: ``job_`` and 26 Crockford base32 digits (no I, L, O or U)."""


def ulid() -> str:
    """A new 26-character ULID string; later calls sort after earlier ones (to the millisecond)."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_job_id() -> str:
    """A public job id, ``job_`` followed by a ULID."""
    return f"job_{ulid()}"


def ulid_millis(identifier: str) -> int:
    """The creation time in milliseconds encoded in an id made by `new_job_id` or `ulid`."""
    stamp = identifier.rsplit("_", 1)[-1][:10]
    value = 0
    for char in stamp:
        value = value * 32 + _CROCKFORD.index(char)
    return value
