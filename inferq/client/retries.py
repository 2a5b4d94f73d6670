"""When the clients try a request again: passing trouble is waited out, mistakes are not.

A 429 (rate or queue limit) or 503 (Redis or the workers' queue unavailable) is tried again
after the answer's `Retry-After` (at most a minute), or after a growing, jittered pause. So is a
409 saying the same Idempotency-Key is still being taken in (an upload cut off a moment ago).
A connection that could not be made is tried again whatever the request; a connection lost
after the request went out only for a request safe to repeat: a read, a cancel, or a submission
carrying an Idempotency-Key (the clients give every submission one, so a repeated submission
answers the job the first one made instead of making a second).
"""

from __future__ import annotations

import random

import httpx

from inferq.client.errors import error_from_response

#: Tries after the first, by default.
DEFAULT_RETRIES = 3
#: The longest `Retry-After` the clients wait; a longer one is answered with the error.
MAX_RETRY_AFTER = 60.0
_IN_PROGRESS = "idempotency-key-in-progress"


def retry_delay(
    attempt: int,
    retries: int,
    *,
    response: httpx.Response | None = None,
    error: httpx.TransportError | None = None,
    repeatable: bool = False,
) -> float | None:
    """Seconds to wait before try `attempt + 1` (0: the first) after `response` or `error`;
    None when the request is not to be tried again."""
    if attempt >= retries:
        return None
    if error is not None:
        not_sent = isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)
        return backoff(attempt) if not_sent or repeatable else None
    assert response is not None
    if response.status_code in (429, 503):
        after = error_from_response(response).retry_after
        if after is None:
            return backoff(attempt)
        return after if after <= MAX_RETRY_AFTER else None
    if response.status_code == 409 and _IN_PROGRESS in str(error_from_response(response).type):
        return backoff(attempt)
    return None


def backoff(attempt: int) -> float:
    """0.5 s, 1 s, 2 s, ... (at most 8 s), each between half and all of it (jitter, so that
    clients cut off together do not come back together)."""
    return min(8.0, 0.5 * 2**attempt) * random.uniform(0.5, 1.0)
