"""A new job's clock: when it expires and by when it must have ended."""

from __future__ import annotations

import time
from typing import TypedDict

from inferq.config import Settings


class JobClock(TypedDict):
    """When a job expires and by when it must have ended (unix times), for `JobRecord(**...)`."""

    expires_at: float
    deadline_at: float


def job_clock(settings: Settings, deadline_seconds: float | None) -> JobClock:
    """When a job submitted now expires and by when it must have ended."""
    now = time.time()
    return {
        "expires_at": now + settings.retention_seconds,
        "deadline_at": now + (deadline_seconds or settings.job_deadline_seconds),
    }
