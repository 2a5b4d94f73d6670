"""Counting synchronous requests for /metrics without a Redis write per request.

Each API process tallies its answers by protocol and status code, and their durations, and adds
them to the metric hashes once a second (and when it stops) in one round trip:
`inferq_sync_requests_total{protocol,code}` and `inferq_sync_request_duration_seconds`.
"""

from __future__ import annotations

import logging
from collections import Counter

import redis.asyncio as aioredis

from inferq.flushed import Flushed
from inferq.metrics import keys
from inferq.metrics.recorder import combined, counts_write, observations_write
from inferq.redis_client import REDIS_UNAVAILABLE

log = logging.getLogger(__name__)


class SyncTally(Flushed):
    """Answers counted since the last flush."""

    task_name = "inferq-sync-tally"

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        self._counts: Counter[tuple[str, int]] = Counter()
        self._seconds: list[float] = []

    def count(self, protocol: str, status: int, seconds: float) -> None:
        """Count one answer."""
        self._counts[(protocol, status)] += 1
        self._seconds.append(seconds)

    async def flush(self) -> None:
        """Add the tally to the metric hashes (kept for the next flush if Redis is away)."""
        if not self._counts:
            return
        counts, seconds = self._counts, self._seconds
        self._counts, self._seconds = Counter(), []
        amounts = {
            keys.counter_field("sync_requests", protocol=protocol, code=str(status)): count
            for (protocol, status), count in counts.items()
        }
        write = combined(
            counts_write(amounts),
            observations_write({"sync_request_duration_seconds": seconds}),
        )
        pipe = self.client.pipeline(transaction=False)
        write(pipe)
        try:
            await pipe.execute()
        except REDIS_UNAVAILABLE as exc:
            log.warning("sync request metrics kept for later: %s", exc)
            self._counts.update(counts)
            self._seconds += seconds
