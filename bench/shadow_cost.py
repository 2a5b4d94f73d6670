"""Shadow cost: a primary's one-row jobs/s with a shadow version on, against without.

Run: `.venv/bin/python -m bench.shadow_cost` (or `make bench BENCH=shadow_cost`).
It starts its own Redis, worker and API (like the tests), registers two HistGradientBoosting
versions of `bench_hgb` (v2 trained on another seed), and measures one-row jobs (one request
each, waiting for the result) in two regimes, each alternating without / with `"shadow": 2`
on the `production` alias, `--rounds` times (the machine's speed drifts; the ratios of the
best runs and of the medians are printed):
  - spare capacity: few clients (`--spare-concurrency`), so the workers have idle time that
    the shadow fills;
  - saturating: many clients (`--concurrency`), so the job lanes are never empty and the shadow
    work is shed (the shed and scored shadow rows are printed).
Targets (issue 22): with a shadow >= 0.9x without when capacity is spare; >= 0.95x when
saturated.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.loadgen import run_load
from bench.small_jobs import bodies, train_model
from inferq.jobs.shadows import SHADOW_LANE, shed_field
from inferq.metrics.keys import COUNTERS, counter_field
from inferq.redis_client import make_redis
from inferq.storage import Storage
from models.aliases import AliasBook
from models.artifacts import dump_skops, untrusted_types
from models.registry import DEFAULT_ALIAS, ModelRegistry
from models.routing import Split
from models.schema import describe
from tests.stack import Stack

NAME = "bench_hgb"


def register_two(stack: Stack) -> AliasBook:
    """Versions 1 and 2 of the bench model (two seeds); the alias points at 1."""
    settings = stack.settings
    registry = ModelRegistry(make_redis(settings), Storage(settings.data_url))
    for seed in (0, 1):
        model, _ = train_model(seed)
        artifact = dump_skops(model)
        registry.register(
            NAME, artifact, "skops", describe(model), trusted_types=untrusted_types(artifact)
        )
    book = AliasBook(registry)
    book.put(NAME, DEFAULT_ALIAS, 1, None, "bench")
    return book


def shadow_counts(stack: Stack) -> tuple[int, int]:
    """Shadow rows scored and shed so far (version 2)."""
    client = stack.redis()
    scored = client.hget(COUNTERS, counter_field("shadow_rows_scored", model=NAME, version="2"))
    shed = client.hget(COUNTERS, shed_field(NAME, 2))
    return int(scored or 0), int(shed or 0)


def jobs_per_second(stack: Stack, url: str, jobs: list[dict], concurrency: int) -> float:
    """One measured run: jobs per second of one-row jobs, one request each."""
    _, seconds = run_load(url, stack.admin_key, jobs, concurrency, protocol="one-request")
    return len(jobs) / seconds


def regime(
    stack: Stack, url: str, book: AliasBook, jobs: list[dict], concurrency: int, rounds: int
):
    """Alternate without / with a shadow; every run's jobs/s of each and the shadow rows seen."""
    runs: dict[str, list[float]] = {"without": [], "with": []}
    scored0, shed0 = shadow_counts(stack)
    for _ in range(rounds):
        for mode in ("without", "with"):
            split = Split(shadow=2) if mode == "with" else None
            book.put(NAME, DEFAULT_ALIAS, 1, split, "bench")
            stack.redis().delete(SHADOW_LANE)  # each run starts with an empty shadow lane
            time.sleep(1.0)  # the API processes' remembered routes follow on the next job
            rate = jobs_per_second(stack, url, jobs, concurrency)
            print(f"  {mode} shadow, {concurrency} clients: {rate:,.0f} jobs/s")
            runs[mode].append(rate)
    scored1, shed1 = shadow_counts(stack)
    return runs, scored1 - scored0, shed1 - shed0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=6000, help="one-row jobs per saturated run")
    parser.add_argument("--spare-jobs", type=int, default=1500, help="jobs per spare-capacity run")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--spare-concurrency", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker-processes", type=int, default=1)
    parser.add_argument(
        "--shadow-max-queued", type=int, default=200, help="INFERQ_SHADOW_MAX_QUEUED of the stack"
    )
    return parser.parse_args()


def main() -> None:
    """Run both regimes and print the ratios against the targets."""
    args = parse_args()
    _, rows = train_model()
    with tempfile.TemporaryDirectory(prefix="inferq-bench-") as tmp:
        stack = Stack(
            Path(tmp) / "shadow",
            rate_limit_per_second="1000000",
            rate_limit_burst="1000000",
            max_jobs_in_flight="1000000",
            shadow_max_queued=str(args.shadow_max_queued),
        )
        try:
            stack.start_redis()
            book = register_two(stack)
            stack.start_worker(concurrency=args.worker_processes)
            url = stack.start_api(workers=1)
            # Warm up both versions (the shadow's first batch loads it) before measuring.
            book.put(NAME, DEFAULT_ALIAS, 1, Split(shadow=2), "bench")
            run_load(url, stack.admin_key, bodies(rows.iloc[:500], NAME), 8)
            time.sleep(2.0)
            spare_jobs = bodies(rows.iloc[np.arange(args.spare_jobs) % len(rows)], NAME)
            print("spare capacity:")
            spare, s_scored, s_shed = regime(
                stack, url, book, spare_jobs, args.spare_concurrency, args.rounds
            )
            print(f"  shadow rows scored {s_scored:,}, shed {s_shed:,}")
            loaded_jobs = bodies(rows.iloc[np.arange(args.jobs) % len(rows)], NAME)
            print("saturating:")
            loaded, l_scored, l_shed = regime(
                stack, url, book, loaded_jobs, args.concurrency, args.rounds
            )
            print(f"  shadow rows scored {l_scored:,}, shed {l_shed:,} (lane left: "
                  f"{stack.redis().llen(SHADOW_LANE):,})")  # fmt: skip
        finally:
            stack.stop()
    for label, runs, target in (("spare capacity", spare, 0.9), ("saturating", loaded, 0.95)):
        best = max(runs["with"]) / max(runs["without"])
        median = float(np.median(runs["with"]) / np.median(runs["without"]))
        print(
            f"{label}: with / without shadow {best:.2f}x (best runs), {median:.2f}x (medians); "
            f"target >= {target}x"
        )


if __name__ == "__main__":
    main()
