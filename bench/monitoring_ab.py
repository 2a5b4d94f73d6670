"""Monitoring on against off, same run: one-row jobs/s and a bulk CSV through real stacks.

    python -m bench.monitoring_ab                       # 20,000 one-row jobs, a 1M-row CSV
    python -m bench.monitoring_ab --jobs 5000 --rows 200000 --rounds 1   # a quicker look

Each round starts a stack with monitoring off and one with it on (a reference set, so rows are
binned rather than collected), alternating which goes first; the best of each is kept (this
machine's speed drifts with its neighbours' load).
"""

from __future__ import annotations

import argparse
import io
import tempfile
from pathlib import Path

import pandas as pd

from bench.bulk_csv import cpu_seconds, inferq_run, make_csv
from bench.loadgen import run_load
from bench.small_jobs import bodies, register, train_model
from tests.stack import Stack


def measure(base: Path, monitoring: bool, rows: pd.DataFrame, csv: Path, jobs: int) -> dict:
    """jobs/s of one-row jobs and rows/s of the bulk CSV on a fresh stack."""
    stack = Stack(
        base,
        monitoring=str(monitoring).lower(),
        rate_limit_per_second="1000000",
        rate_limit_burst="1000000",
        max_jobs_in_flight="1000000",
    )
    try:
        stack.start_redis()
        model, _ = train_model()
        register(stack, model)
        stack.start_worker(concurrency=2)
        url = stack.start_api()
        if monitoring:
            with stack.client(timeout=60) as api:
                sample = rows.iloc[:2_000].to_csv(index=False).encode()
                files = {"file": ("ref.csv", io.BytesIO(sample), "text/csv")}
                api.put("/v1/models/bench_hgb/versions/1/reference", files=files).raise_for_status()
        run_load(url, stack.admin_key, bodies(rows.iloc[:200]), concurrency=4)  # warm-up
        loaded = bodies(rows.iloc[[i % len(rows) for i in range(jobs)]])
        cpu = worker_cpu(stack)
        _, seconds = run_load(url, stack.admin_key, loaded, 64)
        small_cpu, cpu = worker_cpu(stack) - cpu, worker_cpu(stack)
        succeeded, _, job = inferq_run(stack, csv, "bench_hgb", base / "out.csv")
        assert job["status"] == "succeeded", job
        return {
            "jobs_per_s": jobs / seconds,
            "bulk_rows_per_s": job["progress"]["rows_done"] / succeeded,
            # CPU the workers spent: far less at the mercy of the neighbours than wall time.
            "jobs_per_worker_cpu_s": jobs / small_cpu,
            "bulk_rows_per_worker_cpu_s": job["progress"]["rows_done"] / (worker_cpu(stack) - cpu),
        }
    finally:
        stack.stop()


def worker_cpu(stack: Stack) -> float:
    """CPU seconds used so far by the stack's worker processes and their pool children."""
    pids = [w.pid for w in stack.workers if w.pid is not None]
    total = 0.0
    while pids:
        pid = pids.pop()
        try:
            total += cpu_seconds(pid)
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        pids += [int(child) for child in children]
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    _, rows = train_model()
    best: dict[bool, dict[str, float]] = {False: {}, True: {}}
    with tempfile.TemporaryDirectory(prefix="inferq-mon-ab-") as tmp:
        csv = Path(tmp) / "bulk.csv"
        make_csv(csv, args.rows)
        for round_ in range(args.rounds):
            for monitoring in (False, True) if round_ % 2 == 0 else (True, False):
                base = Path(tmp) / f"{round_}-{monitoring}"
                result = measure(base, monitoring, rows, csv, args.jobs)
                print(f"round {round_ + 1}, monitoring {'on ' if monitoring else 'off'}: {result}")
                for key, value in result.items():
                    best[monitoring][key] = max(best[monitoring].get(key, 0.0), value)
    for key in best[False]:
        ratio = best[True][key] / best[False][key]
        print(f"{key}: off {best[False][key]:,.0f}, on {best[True][key]:,.0f}, on/off {ratio:.3f}")


if __name__ == "__main__":
    main()
