"""What a benchmark run measured, and how it compares with the targets of issue 16.

`measure_pattern` drives a server; everything else here is plain arithmetic on its results, kept
apart so it can be unit-tested without a server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.loadgen import run_load


@dataclass(frozen=True)
class Measure:
    """One server and request pattern: throughput under load, latency at light load."""

    name: str
    per_second: float
    p50_ms: float
    p99_ms: float
    unit: str = "jobs/s"
    loaded_p99_ms: float = 0.0
    """The p99 of the loaded run, every connection busy."""
    rows: int = 1
    """Rows per request."""

    def line(self) -> str:
        """One printed line: name, latency and throughput."""
        rows = f" ({self.per_second * self.rows:,.0f} rows/s)" if self.rows > 1 else ""
        return (
            f"{self.name}: p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms (light load); "
            f"{self.per_second:,.0f} {self.unit}{rows}, p99 {self.loaded_p99_ms:.1f} ms under load"
        )


@dataclass(frozen=True)
class Load:
    """How hard a pattern is driven: the jobs of the light and the loaded run."""

    light: list[dict[str, Any]]
    loaded: list[dict[str, Any]]
    warmup: list[dict[str, Any]]
    concurrency: int = 64
    client_processes: int = 2


def percentile_ms(seconds: list[float], q: float) -> float:
    """The q-th percentile (linear interpolation) of latencies in seconds, in milliseconds."""
    if not seconds:
        raise ValueError("no latencies to take a percentile of")
    return float(np.percentile(seconds, q)) * 1000


def measure_pattern(name: str, url: str, key: str, protocol: str, load: Load) -> Measure:
    """Warm up, then measure latency with one client and throughput with `concurrency`."""
    run_load(url, key, load.warmup, concurrency=8, protocol=protocol)
    light, _ = run_load(url, key, load.light, concurrency=1, protocol=protocol)
    loaded, seconds = run_load(
        url, key, load.loaded, load.concurrency, load.client_processes, protocol=protocol
    )
    return Measure(
        name=name,
        per_second=len(load.loaded) / seconds,
        p50_ms=percentile_ms(light, 50),
        p99_ms=percentile_ms(light, 99),
        unit="req/s" if protocol == "v2-infer" else "jobs/s",
        loaded_p99_ms=percentile_ms(loaded, 99),
        rows=len(load.loaded[0]["dataframe_records"]),
    )


def mean_measure(measures: list[Measure]) -> Measure:
    """The mean of rounds of one measure (throughputs and latencies alike), named as the
    first; a single measure is itself."""
    if not measures:
        raise ValueError("no measures to average")
    if len(measures) == 1:
        return measures[0]
    return Measure(
        name=measures[0].name,
        per_second=float(np.mean([m.per_second for m in measures])),
        p50_ms=float(np.mean([m.p50_ms for m in measures])),
        p99_ms=float(np.mean([m.p99_ms for m in measures])),
        unit=measures[0].unit,
        loaded_p99_ms=float(np.mean([m.loaded_p99_ms for m in measures])),
        rows=measures[0].rows,
    )


@dataclass(frozen=True)
class Target:
    """One row of the targets table: a measured ratio and the bound it should meet."""

    name: str
    value: float
    bound: float
    at_most: bool = False
    """The value must stay at or under the bound (a latency), not reach it (a throughput)."""

    @property
    def met(self) -> bool:
        """Whether the measured value is on the right side of the bound."""
        return self.value <= self.bound if self.at_most else self.value >= self.bound

    def line(self) -> str:
        """One printed line: the ratio, the bound and whether it was met."""
        sign = "<=" if self.at_most else ">="
        verdict = "met" if self.met else "NOT met"
        return f"{self.name}: {self.value:.2f}x (target {sign} {self.bound:g}x; {verdict})"


def peer_targets(
    submit_poll: Measure, one_request: Measure, in_process: float, peer: Measure
) -> list[Target]:
    """The issue's targets that compare inferq's two patterns with each other and the peers."""
    return [
        Target(
            "submit-and-poll / one-request", submit_poll.per_second / one_request.per_second, 0.9
        ),
        Target("submit-and-poll / in-process per row", submit_poll.per_second / in_process, 1.0),
        Target(f"submit-and-poll / {peer.name}", submit_poll.per_second / peer.per_second, 1.5),
        Target(f"one-request / {peer.name}", one_request.per_second / peer.per_second, 1.5),
        Target(
            f"light-load p50, submit-and-poll / {peer.name}",
            submit_poll.p50_ms / peer.p50_ms,
            1.0,
            at_most=True,
        ),
    ]


def v2_targets(v2: Measure, peer: Measure) -> list[Target]:
    """Issue 19's targets: one-row v2 infer through inferq against the peer's, same load; the
    p99 both at that load and at light load."""
    return [
        Target(f"v2 infer / {peer.name}", v2.per_second / peer.per_second, 1.5),
        Target(
            f"p99 under load, v2 infer / {peer.name}",
            v2.loaded_p99_ms / peer.loaded_p99_ms,
            1.0,
            at_most=True,
        ),
        Target(
            f"light-load p99, v2 infer / {peer.name}", v2.p99_ms / peer.p99_ms, 1.0, at_most=True
        ),
    ]


def big_v2_targets(v2: Measure, peer: Measure) -> list[Target]:
    """Issue 19's many-row target: rows/s of v2 infer requests of many rows each."""
    return [
        Target(
            f"{v2.rows:,}-row v2 infer rows/s / {peer.name}", v2.per_second / peer.per_second, 1.5
        )
    ]


def best(measures: list[Measure]) -> Measure:
    """The measure with the highest throughput (the peer's best setting)."""
    return max(measures, key=lambda measure: measure.per_second)
