"""Usage the API counts outside a script (file uploads, downloads), added once a second.

Each API process sums these in memory and adds them to the day hashes once a second, and when
it stops, in one round trip: a download costs no Redis write of its own. A process killed
outright loses at most the last second's sums.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterable, Iterator

import redis.asyncio as aioredis

from inferq.flushed import Flushed
from inferq.redis_client import REDIS_UNAVAILABLE
from inferq.usage import keys
from inferq.usage.counting import UsageMeter

log = logging.getLogger(__name__)


class UsageTally(Flushed):
    """Usage counted since the last flush: (day key, field) -> amount."""

    task_name = "inferq-usage-tally"

    def __init__(self, client: aioredis.Redis, meter: UsageMeter) -> None:
        self.client = client
        self.meter = meter
        self._sums: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()  # downloads stream from threads

    def add(self, tenant: str, model: str, **amounts: int) -> None:
        """Count `amounts` (measures of `keys.MEASURES`) for the tenant's model today."""
        if not self.meter.enabled:
            return
        key = keys.day_key(tenant, keys.today())
        with self._lock:
            for measure, amount in amounts.items():
                if amount:
                    self._sums[(key, keys.field(model, measure))] += amount

    def counted(self, pieces: Iterable[bytes], tenant: str, model: str) -> Iterator[bytes]:
        """The pieces of a download as they are sent, their bytes counted when it ends (or
        stops: a client gone halfway is counted what it got)."""
        sent = 0
        try:
            for piece in pieces:
                sent += len(piece)
                yield piece
        finally:
            self.add(tenant, model, bytes_out=sent)

    async def flush(self) -> None:
        """Add the sums to the day hashes (kept for the next flush if Redis is away)."""
        if not self._sums:
            return
        with self._lock:
            sums, self._sums = self._sums, Counter()
        pipe = self.client.pipeline(transaction=False)
        for (key, field), amount in sums.items():
            pipe.hincrby(key, field, amount)
        for key in {key for key, _ in sums}:
            pipe.expire(key, self.meter.ttl_seconds)
        try:
            await pipe.execute()
        except REDIS_UNAVAILABLE as exc:
            log.warning("usage kept for later: %s", exc)
            with self._lock:
                self._sums.update(sums)
