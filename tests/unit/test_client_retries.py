"""The clients' retry policy: passing trouble is waited out, mistakes are not."""

from __future__ import annotations

import httpx
import pytest

from inferq.client.retries import MAX_RETRY_AFTER, backoff, retry_delay

PROBLEM = {"content-type": "application/problem+json"}


def answer(status: int, problem_type: str = "about:blank", **headers: str) -> httpx.Response:
    return httpx.Response(
        status, headers={**PROBLEM, **headers}, json={"type": problem_type, "title": "x"}
    )


def test_limits_and_outages_are_retried_after_the_servers_retry_after() -> None:
    """429 and 503 wait what `Retry-After` says; without it, a growing pause."""
    assert retry_delay(0, 3, response=answer(429, **{"retry-after": "2"})) == 2.0
    assert retry_delay(2, 3, response=answer(503, **{"retry-after": "7"})) == 7.0
    assert 0.25 <= retry_delay(0, 3, response=answer(503)) <= 0.5  # type: ignore[operator]
    assert 1.0 <= retry_delay(2, 3, response=answer(429)) <= 2.0  # type: ignore[operator]


def test_a_retry_after_beyond_a_minute_or_past_the_last_try_ends_the_retries() -> None:
    """The client answers with the error instead of sleeping past the limit or the tries."""
    late = str(int(MAX_RETRY_AFTER) + 1)
    assert retry_delay(0, 3, response=answer(503, **{"retry-after": late})) is None
    assert retry_delay(3, 3, response=answer(503, **{"retry-after": "1"})) is None
    assert retry_delay(0, 0, response=answer(429)) is None


def test_mistakes_are_not_retried() -> None:
    """A 4xx other than 429 is the caller's to fix; a 500 is a bug, not a passing state."""
    for status in (400, 401, 403, 404, 413, 415, 422, 500):
        assert retry_delay(0, 3, response=answer(status)) is None


def test_an_idempotency_key_still_in_progress_is_waited_for_but_a_reused_one_is_not() -> None:
    """409 `idempotency-key-in-progress` (the first try's upload is still being let go) passes;
    409 `idempotency-key-reused` (other bytes under the same key) does not."""
    base = "https://inferq.dev/problems/"
    assert retry_delay(0, 3, response=answer(409, base + "idempotency-key-in-progress"))
    assert retry_delay(0, 3, response=answer(409, base + "idempotency-key-reused")) is None


@pytest.mark.parametrize(
    ("error", "repeatable", "retried"),
    [
        (httpx.ConnectError("refused"), False, True),  # nothing was sent
        (httpx.ConnectTimeout("slow"), False, True),
        (httpx.ReadError("reset"), False, False),  # it may have been done: not again
        (httpx.RemoteProtocolError("closed"), True, True),  # safe to repeat
        (httpx.ReadTimeout("slow"), True, True),
    ],
)
def test_a_lost_connection_is_retried_only_when_repeating_is_safe(
    error: httpx.TransportError, repeatable: bool, retried: bool
) -> None:
    """A connection never made may always be tried again; one lost mid-way only for requests
    safe to repeat."""
    delay = retry_delay(0, 3, error=error, repeatable=repeatable)
    assert (delay is not None) is retried


def test_backoff_grows_to_eight_seconds_with_jitter() -> None:
    """Each pause lies between half and all of 0.5 s × 2^attempt, capped at 8 s."""
    for attempt, full in [(0, 0.5), (1, 1.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        pauses = [backoff(attempt) for _ in range(200)]
        assert all(full / 2 <= pause <= full for pause in pauses)
        assert max(pauses) - min(pauses) > full / 10  # spread, not one fixed value
