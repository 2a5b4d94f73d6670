"""The retry schedule of failed webhook deliveries."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from inferq.config import Settings
from inferq.webhooks.schedule import RetryPolicy, parse_retry_after


def test_the_default_schedule_spans_days() -> None:
    """By default retries go on for more than two days, in growing steps."""
    policy = RetryPolicy.from_settings(Settings())
    assert sum(policy.delays) > 2 * 24 * 3600
    assert list(policy.delays) == sorted(policy.delays)
    assert policy.max_attempts == len(policy.delays) + 1


def test_delays_follow_the_schedule_within_the_jitter() -> None:
    """Each retry waits its scheduled delay give or take the jitter share; then it gives up."""
    policy = RetryPolicy(delays=(10.0, 100.0), jitter=0.2, max_retry_after=3600)
    rng = random.Random(7)
    seen = [policy.next_delay(1, None, rng) for _ in range(200)]
    assert all(8.0 <= d <= 12.0 for d in seen) and len(set(seen)) > 100
    assert 80.0 <= policy.next_delay(2, None, rng) <= 120.0
    assert policy.next_delay(3, None, rng) is None


def test_a_longer_retry_after_wins_up_to_the_cap() -> None:
    """Retry-After lengthens the wait, never shortens it, and is capped."""
    policy = RetryPolicy(delays=(10.0,), jitter=0.0, max_retry_after=60)
    assert policy.next_delay(1, 30.0) == 30.0
    assert policy.next_delay(1, 2.0) == 10.0
    assert policy.next_delay(1, 86400.0) == 60.0


def test_retry_after_reads_seconds_and_http_dates() -> None:
    """Both Retry-After forms are read; nonsense is ignored."""
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:01:30 GMT", now) == 90.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
