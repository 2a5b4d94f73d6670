"""What `INFERQ_REDIS_MIN_REPLICAS` costs: one-row submit-and-poll jobs with 0 and with 1,
against the same real primary + replica (+ three Sentinels), the same worker, in one run.

    python -m bench.redis_wait [--jobs 4000] [--rounds 2]

The API is restarted between settings; the order alternates (0, 1, 0, 1...) so that drift of
a shared machine falls on both. Target (issue 20): jobs/s with 1 ≥ 0.8 × jobs/s with 0.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.measures import Load, Measure, measure_pattern
from tests.helpers import demo_rows
from tests.redis_ha import HAStack


def bodies(count: int) -> list[dict]:
    """`count` one-row iris jobs."""
    rows = demo_rows("iris", 150).to_dict("records")
    return [{"model": "iris", "dataframe_records": [rows[i % len(rows)]]} for i in range(count)]


def measure(stack: HAStack, replicas: int, args: argparse.Namespace) -> Measure:
    """Restart the API with `replicas` and measure submit-and-poll."""
    if stack.api is not None:
        stack.api.stop()
    stack.extra["redis_min_replicas"] = str(replicas)
    url = stack.start_api()
    load = Load(
        light=bodies(args.light_jobs),
        loaded=bodies(args.jobs),
        warmup=bodies(100),
        concurrency=args.concurrency,
        client_processes=args.client_processes,
    )
    return measure_pattern(f"MIN_REPLICAS={replicas}", url, stack.admin_key, "submit-poll", load)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=4000)
    parser.add_argument("--light-jobs", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--client-processes", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="inferq-redis-wait-") as tmp:
        stack = HAStack(
            Path(tmp),
            rate_limit_per_second="1000000",
            rate_limit_burst="1000000",
            max_jobs_in_flight="1000000",
        )
        results: dict[int, list[Measure]] = {0: [], 1: []}
        try:
            stack.start_redis()
            stack.register_demo_models()
            stack.start_worker(concurrency=1)
            for _ in range(args.rounds):
                for replicas in (0, 1):
                    result = measure(stack, replicas, args)
                    results[replicas].append(result)
                    print(result.line(), flush=True)
        finally:
            stack.stop()
    best = {n: max(results[n], key=lambda m: m.per_second) for n in results}
    ratio = best[1].per_second / best[0].per_second
    off, on = best[0].per_second, best[1].per_second
    print(f"best jobs/s: {off:.0f} (0) vs {on:.0f} (1): {ratio:.2f}x")
    print(f"p50: {best[0].p50_ms:.2f} ms (0) vs {best[1].p50_ms:.2f} ms (1)")


if __name__ == "__main__":
    main()
