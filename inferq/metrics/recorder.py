"""Writing metrics to Redis from any process; a lost write never disturbs the work measured."""

from __future__ import annotations

import bisect
import logging
from collections import Counter
from typing import Any

import redis

from inferq.metrics import keys
from inferq.redis_client import REDIS_UNAVAILABLE, Write

log = logging.getLogger(__name__)


class MetricsRecorder:
    """Counts and observes into Redis hashes that the API's collector turns into Prometheus."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def count(self, name: str, amount: int = 1, **labels: str) -> None:
        """Add `amount` to a counter, e.g. ``count("webhook_deliveries", outcome="success")``."""
        field = keys.counter_field(name, **labels)
        if amount:
            self._send(lambda pipe: pipe.hincrby(keys.COUNTERS, field, amount))

    def counts(self, amounts: dict[str, int]) -> None:
        """Add to several unlabelled counters in one round trip."""
        self._send(counts_write(amounts))

    def observe(self, name: str, value: float) -> None:
        """Record one observation in a histogram declared in `keys.BUCKETS`."""
        self.observe_many({name: [value]})

    def observe_many(self, observations: dict[str, list[float]]) -> None:
        """Record many observations in several histograms in one round trip."""
        self._send(observations_write(observations))

    def send(self, *writes: Write) -> None:
        """Several writes (`counts_write`, `observations_write`) in one round trip."""
        self._send(combined(*writes))

    def _send(self, write: Write) -> None:
        try:
            pipe = self.redis.pipeline(transaction=False)
            write(pipe)
            pipe.execute()
        except REDIS_UNAVAILABLE as exc:
            log.warning("metrics not recorded: %s", exc)


def combined(*writes: Write) -> Write:
    """Several writes as one."""

    def write_all(pipe: Any) -> None:
        for write in writes:
            write(pipe)

    return write_all


def counts_write(amounts: dict[str, int]) -> Write:
    """Adding to unlabelled counters, as a write for `MetricsRecorder.send`."""

    def write(pipe: Any) -> None:
        for name, amount in amounts.items():
            if amount:
                pipe.hincrby(keys.COUNTERS, name, amount)

    return write


def observations_write(observations: dict[str, list[float]]) -> Write:
    """Observations in histograms declared in `keys.BUCKETS`, as a write for `send`."""

    def write(pipe: Any) -> None:
        for name, values in observations.items():
            bounds = keys.BUCKETS[name]
            key = keys.histogram(name)
            buckets = Counter(bisect.bisect_left(bounds, value) for value in values)
            for index, seen in buckets.items():
                pipe.hincrby(key, str(bounds[index]) if index < len(bounds) else "+Inf", seen)
            if values:
                pipe.hincrby(key, "count", len(values))
                pipe.hincrbyfloat(key, "sum", sum(values))

    return write


def version_write(
    rows: dict[tuple[str, int], int], seconds: dict[tuple[str, int], list[float]]
) -> Write:
    """Rows scored and job latencies per model version (`/metrics` labels them by version)."""

    def write(pipe: Any) -> None:
        for (model, version), amount in rows.items():
            if amount:
                field = keys.counter_field("version_rows_scored", model=model, version=str(version))
                pipe.hincrby(keys.COUNTERS, field, amount)
        for (model, version), values in seconds.items():
            if values:
                pipe.hincrbyfloat(keys.VERSION_LATENCY, f"{model}|{version}|sum", sum(values))
                pipe.hincrby(keys.VERSION_LATENCY, f"{model}|{version}|count", len(values))

    return write
