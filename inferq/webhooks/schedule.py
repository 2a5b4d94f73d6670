"""When to try a failed webhook delivery again: backoff schedule, jitter and `Retry-After`."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from inferq.config import Settings


@dataclass(frozen=True)
class RetryPolicy:
    """Delays before each retry, how much they vary, and the most a receiver may ask for."""

    delays: tuple[float, ...]
    jitter: float
    max_retry_after: float

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """The policy configured by the `webhook_retry_*` settings."""
        delays = tuple(float(d) for d in settings.webhook_retry_delays.split(",") if d.strip())
        return cls(delays, settings.webhook_retry_jitter, settings.webhook_max_retry_after_seconds)

    @property
    def max_attempts(self) -> int:
        """Scheduled attempts in all: the first one and one per retry delay."""
        return 1 + len(self.delays)

    def next_delay(
        self, failed_attempts: int, retry_after: float | None, rng: random.Random | None = None
    ) -> float | None:
        """Seconds until the next attempt after `failed_attempts` failures, or None to give up.

        The scheduled delay varies by the jitter share either way; a receiver's `Retry-After`
        is honoured when longer (up to the configured maximum).
        """
        if failed_attempts < 1 or failed_attempts > len(self.delays):
            return None
        base = self.delays[failed_attempts - 1]
        delay = base * (rng or random).uniform(1 - self.jitter, 1 + self.jitter)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_retry_after))
        return delay


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a `Retry-After` header asks for (delta-seconds or HTTP date); None if absent/bad."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
