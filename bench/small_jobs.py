"""Small-job fast path: latency and throughput of one-row jobs through the HTTP API.

Run: `.venv/bin/python -m bench.small_jobs` (or `make bench BENCH=small_jobs`).
It starts its own Redis, worker and API (like the tests), registers a HistGradientBoosting
model, and in the same run measures:
  - the in-process baseline: one process calling `predict` once per row, before and after the
    load (the ratio is taken against the faster of the two: this machine's speed drifts);
  - inferq with dynamic batching: latency at light load (one client) and throughput under load;
  - the naive design: the same API with one Celery task and one predict call per job;
  - inferq as `make run` starts it (`python -m inferq.launcher`, its defaults: access logs, rate
    limits, a worker per core), both request patterns: the one-request path and submit-and-poll
    (`POST /v1/jobs`, then long-poll `GET /v1/jobs/{id}`), against the bench's own stack above.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from bench.bulk_csv import FEATURES, inferq_run, make_csv
from bench.launched import LaunchedService
from bench.measures import Load, Measure, Target, measure_pattern, percentile_ms
from inferq.redis_client import make_redis
from inferq.storage import Storage
from models.artifacts import dump_skops, untrusted_types
from models.registry import DEFAULT_ALIAS, ModelRegistry
from models.schema import describe
from tests.stack import Stack

RATE_BUDGET_SECONDS = 15.0
"""Longest one in-process rate measurement runs (its rows per second are what it reached)."""


def train_model(seed: int = 0) -> tuple[HistGradientBoostingClassifier, pd.DataFrame]:
    """A HistGradientBoosting classifier on 20 float features, and rows to score."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.normal(size=(20_000, 20)), columns=FEATURES)
    y = (x["f00"] + x["f01"] * x["f02"] > 0).astype(int)
    return HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(x, y), x


def in_process_rows_per_second(model: HistGradientBoostingClassifier, rows: pd.DataFrame) -> float:
    """The best of predicting one row at a time: DataFrame or NumPy rows, default or 1 thread."""
    with threadpool_limits(1):
        single = _per_row_rate(model, rows)
    return max(single, _per_row_rate(model, rows))


def _per_row_rate(model: HistGradientBoostingClassifier, rows: pd.DataFrame) -> float:
    frames = [rows.iloc[i : i + 1] for i in range(len(rows))]
    frame_rate = _rate(model.predict, frames)
    arrays = rows.to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # feature-name warning for the NumPy path
        array_rate = _rate(model.predict, [arrays[i : i + 1] for i in range(len(arrays))])
    return max(frame_rate, array_rate)


def _rate(predict: Callable[[Any], Any], inputs: list[Any]) -> float:
    """Calls per second of `predict` over `inputs`, stopping early after `RATE_BUDGET_SECONDS`.

    On a busy machine a multithreaded one-row predict can take 100x its quiet time (OpenMP
    threads wait for each other once per tree); the budget keeps the baseline bounded.
    """
    start = time.perf_counter()
    deadline = start + RATE_BUDGET_SECONDS
    done = 0
    for item in inputs:
        predict(item)
        done += 1
        if time.perf_counter() > deadline:
            break
    return done / (time.perf_counter() - start)


def register(stack: Stack, model: HistGradientBoostingClassifier) -> None:
    """Register the benchmark model as `bench_hgb` in the stack."""
    settings = stack.settings
    registry = ModelRegistry(make_redis(settings), Storage(settings.data_url))
    artifact = dump_skops(model)
    version = registry.register(
        "bench_hgb", artifact, "skops", describe(model), trusted_types=untrusted_types(artifact)
    )
    registry.set_alias("bench_hgb", DEFAULT_ALIAS, version.version)


def bodies(rows: pd.DataFrame, model: str = "bench_hgb") -> list[dict]:
    """One job per row, in `dataframe_records` form."""
    return [{"model": model, "dataframe_records": [r]} for r in rows.to_dict("records")]


def load_for(rows: pd.DataFrame, jobs: int, args: argparse.Namespace) -> Load:
    """The light, loaded and warm-up jobs of one measured pattern (rows reused past 20,000)."""
    return Load(
        light=bodies(rows.iloc[: args.light_jobs]),
        loaded=bodies(rows.iloc[np.arange(jobs) % len(rows)]),
        warmup=bodies(rows.iloc[:100]),
        concurrency=args.concurrency,
        client_processes=args.client_processes,
    )


def measure_stack(
    base: Path, model, rows, dispatch: str, args, big_csv: Path | None = None
) -> dict[str, float]:
    """Start a stack with the given small-job dispatch and measure latency and throughput."""
    # The benchmark is one tenant sending as fast as it can: lift the per-tenant limits.
    stack = Stack(
        base,
        inline_dispatch=dispatch,
        rate_limit_per_second="1000000",
        rate_limit_burst="1000000",
        max_jobs_in_flight="1000000",
        usage_metering=args.usage_metering,
    )
    try:
        stack.start_redis()
        register(stack, model)
        stack.start_worker(concurrency=args.worker_processes)
        url = stack.start_api(workers=args.api_workers)
        jobs = args.jobs if dispatch == "batcher" else args.naive_jobs
        measured = measure_pattern(
            dispatch, url, stack.admin_key, "one-request", load_for(rows, jobs, args)
        )
        result = {
            "p50_ms": measured.p50_ms,
            "p99_ms": measured.p99_ms,
            "jobs_per_s": measured.per_second,
        }
        if big_csv is not None:
            result.update(fairness(stack, rows, big_csv))
        return result
    finally:
        stack.stop()


def measure_make_run(base: Path, model, rows, args) -> tuple[Measure, Measure]:
    """One-request and submit-and-poll on inferq as `make run` starts it, then stop it."""
    service = LaunchedService(base)
    try:
        url = service.start()
        service.upload_model("bench_hgb", model)
        load = load_for(rows, args.jobs, args)
        one_request = measure_pattern(
            "make run, one-request", url, service.key, "one-request", load
        )
        submit_poll = measure_pattern(
            "make run, submit-and-poll", url, service.key, "submit-poll", load
        )
    finally:
        service.stop()
    return one_request, submit_poll


def fairness(stack: Stack, rows: pd.DataFrame, big_csv: Path) -> dict[str, float]:
    """Median one-row latency when idle, and while a big file job of the same model is scored."""
    one_row = bodies(rows.iloc[:1])[0]

    def latencies_while(busy: threading.Thread | None, count: int) -> list[float]:
        seen: list[float] = []
        with stack.client(timeout=60) as client:
            while len(seen) < count or (busy is not None and busy.is_alive()):
                start = time.perf_counter()
                response = client.post("/v1/jobs", params={"wait": 30}, json=one_row)
                assert response.status_code == 200, response.text
                seen.append(time.perf_counter() - start)
                if busy is not None and not busy.is_alive():
                    break
        return seen

    idle = latencies_while(None, 200)
    big = threading.Thread(
        target=inferq_run, args=(stack, big_csv, "bench_hgb", big_csv.with_suffix(".out"))
    )
    big.start()
    time.sleep(0.5)  # the upload is streaming and its first chunks are being scored
    busy = latencies_while(big, 50)
    big.join()
    return {
        "idle_p50_ms": percentile_ms(idle, 50),
        "busy_p50_ms": percentile_ms(busy, 50),
        "busy_jobs": float(len(busy)),
    }


def parse_args() -> argparse.Namespace:
    """The command line: sizes of the runs and the bench stack's shape."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--jobs", type=int, default=60_000, help="one-row jobs in the load run (batching)"
    )
    parser.add_argument(
        "--naive-jobs", type=int, default=3000, help="one-row jobs in the naive design's load run"
    )
    parser.add_argument("--light-jobs", type=int, default=300, help="jobs in the latency run")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--client-processes", type=int, default=1)
    parser.add_argument("--api-workers", type=int, default=1)
    parser.add_argument("--worker-processes", type=int, default=1)
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument(
        "--usage-metering", choices=("true", "false"), default="true",
        help="count usage per tenant (INFERQ_USAGE_METERING; bench/usage_ab.py compares both)",
    )  # fmt: skip
    parser.add_argument(
        "--skip-make-run", action="store_true", help="skip the `make run` configuration"
    )
    parser.add_argument(
        "--fairness-rows", type=int, default=1_000_000, help="rows of the big job (0: skip)"
    )
    return parser.parse_args()


def main() -> None:
    """Run the benchmark and print the table and the ratios."""
    args = parse_args()
    model, rows = train_model()
    before = in_process_rows_per_second(model, rows.iloc[:2000])
    print(f"in-process predict per row: {before:,.0f} rows/s")
    with tempfile.TemporaryDirectory(prefix="inferq-bench-") as tmp:
        big_csv = None
        if args.fairness_rows:
            big_csv = Path(tmp) / "big.csv"
            make_csv(big_csv, args.fairness_rows)
        batched = measure_stack(Path(tmp) / "batched", model, rows, "batcher", args, big_csv)
        print_result("inferq (batching)", batched)
        # The machine's speed drifts: measure the baseline again and compare with the faster.
        after = in_process_rows_per_second(model, rows.iloc[:2000])
        baseline = max(before, after)
        print(f"in-process predict per row, again after the load: {after:,.0f} rows/s")
        if big_csv is not None:
            print_fairness(batched, args.fairness_rows)
        naive = None
        if not args.skip_naive:
            naive = measure_stack(Path(tmp) / "naive", model, rows, "celery", args)
            print_result("naive (1 Celery task + 1 predict per job)", naive)
        make_run = None
        if not args.skip_make_run:
            make_run = measure_make_run(Path(tmp) / "make-run", model, rows, args)
            print(*(measure.line() for measure in make_run), sep="\n")
    print(
        f"ratio batching / in-process per-row (the faster baseline): "
        f"{batched['jobs_per_s'] / baseline:.2f}x"
    )
    if naive:
        print(f"ratio batching / naive: {batched['jobs_per_s'] / naive['jobs_per_s']:.2f}x")
    if make_run:
        print_make_run_ratios(batched, *make_run)


def print_fairness(batched: dict[str, float], fairness_rows: int) -> None:
    """One-row latency while a big file job runs, against idle."""
    print(
        f"fairness: one-row p50 {batched['idle_p50_ms']:.1f} ms idle, "
        f"{batched['busy_p50_ms']:.1f} ms while a {fairness_rows:,}-row file job "
        f"runs ({batched['busy_p50_ms'] / batched['idle_p50_ms']:.2f}x; target <= 2x; "
        f"{batched['busy_jobs']:.0f} jobs)"
    )


def print_make_run_ratios(
    batched: dict[str, float], one_request: Measure, submit_poll: Measure
) -> None:
    """The issue 16 targets this benchmark can see: `make run` against the bench's stack."""
    targets = [
        Target(
            "make run / bench stack, one-request",
            one_request.per_second / batched["jobs_per_s"],
            0.9,
        ),
        Target(
            "make run submit-and-poll / one-request",
            submit_poll.per_second / one_request.per_second,
            0.9,
        ),
    ]
    for target in targets:
        print(f"ratio {target.line()}")


def print_result(name: str, result: dict[str, float]) -> None:
    """One line per measured design."""
    print(
        f"{name}: p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms (light load); "
        f"{result['jobs_per_s']:,.0f} jobs/s under load"
    )


if __name__ == "__main__":
    main()
