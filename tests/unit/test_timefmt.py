"""RFC 3339 timestamps: the same text `datetime` gives, including at second boundaries."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from inferq.timefmt import now_rfc3339, rfc3339, rfc3339_from_unix


def by_datetime(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def test_random_moments_read_as_datetime_reads_them() -> None:
    rng = random.Random(16)
    moments = [rng.uniform(0, 4e9) for _ in range(20_000)]
    assert [rfc3339(m) for m in moments] == [by_datetime(m) for m in moments]


@pytest.mark.parametrize(
    ("epoch", "text"),
    [
        (0.0, "1970-01-01T00:00:00.000Z"),
        (1.9999996, "1970-01-01T00:00:02.000Z"),  # its microsecond rounds to the next second
        (1.9994999, "1970-01-01T00:00:01.999Z"),  # milliseconds are truncated
        (1765000000.5, "2025-12-06T05:46:40.500Z"),
        (1765000000.0015, "2025-12-06T05:46:40.001Z"),
        (-1.5, "1969-12-31T23:59:58.500Z"),
        (951782400.0, "2000-02-29T00:00:00.000Z"),
    ],
)
def test_edges_of_seconds_and_days(epoch: float, text: str) -> None:
    assert rfc3339(epoch) == text == by_datetime(epoch)


def test_the_same_second_twice_and_then_another() -> None:
    """The second's text is kept between calls: a later second must not reuse it."""
    assert rfc3339(100.25) == "1970-01-01T00:01:40.250Z"
    assert rfc3339(100.75) == "1970-01-01T00:01:40.750Z"
    assert rfc3339(101.0) == "1970-01-01T00:01:41.000Z"
    assert rfc3339_from_unix(None) is None
    assert now_rfc3339()[:4] == str(datetime.now(UTC).year)
