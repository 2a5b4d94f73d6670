"""Chaos run: jobs of mixed sizes while worker processes are killed and Redis restarts.

Run: `.venv/bin/python -m bench.chaos` (options: --jobs, --kills, --redis-restarts, --seed).
It starts its own Redis, two workers and the API, submits jobs of 1 to 20,000 rows from a
client thread, and meanwhile SIGKILLs worker pool processes (Celery starts new ones) and
restarts Redis. Then it waits for every accepted job to end and compares each result with
direct scikit-learn predictions. It prints jobs accepted / succeeded / failed / lost, and rows
missing, duplicated or wrong. Target: 0 lost, 0 wrong rows.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

from tests.helpers import demo_rows, reference_model
from tests.stack import Stack


def submit_all(
    stack: Stack, sizes: list[int], accepted: dict[str, int], stop: threading.Event
) -> None:
    """Submit one job per size, retrying 503s (Redis restarting) with an Idempotency-Key."""
    with stack.client(timeout=60) as client:
        for index, size in enumerate(sizes):
            rows = demo_rows("iris", size, seed=index)
            body = {
                "model": "iris",
                "dataframe_split": {
                    "columns": list(rows.columns),
                    "data": rows.to_numpy().tolist(),
                },
            }
            key = {"Idempotency-Key": f"chaos-{index}"}
            while not stop.is_set():
                try:
                    response = client.post("/v1/jobs", json=body, headers=key)
                except httpx.HTTPError:
                    time.sleep(0.2)
                    continue
                if response.status_code in (200, 202):
                    accepted[response.json()["id"]] = index
                    break
                time.sleep(0.2)


def kill_pool_processes(stack: Stack, count: int, rng: random.Random) -> int:
    """SIGKILL `count` running pool processes (children of the worker main processes)."""
    killed = 0
    for _ in range(count):
        children = [pid for worker in stack.workers for pid in _children(worker.pid)]
        if children:
            os.kill(rng.choice(children), signal.SIGKILL)
            killed += 1
        time.sleep(rng.uniform(0.5, 1.5))
    return killed


def _children(pid: int | None) -> list[int]:
    if pid is None:
        return []
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def check(client: httpx.Client, accepted: dict[str, int], sizes: list[int]) -> dict[str, int]:
    """Wait for each accepted job and compare its rows with direct predictions."""
    model = reference_model("iris")
    tally = dict(succeeded=0, failed=0, lost=0, missing=0, duplicated=0, wrong=0)
    for job_id, index in accepted.items():
        job = client.get(f"/v1/jobs/{job_id}", params={"wait": 120}).json()
        if job.get("status") == "failed":
            tally["failed"] += 1
            continue
        if job.get("status") != "succeeded":
            tally["lost"] += 1
            continue
        tally["succeeded"] += 1
        got = client.get(f"/v1/jobs/{job_id}/results").json()["data"]
        expected = model.predict(demo_rows("iris", sizes[index], seed=index))
        tally["missing"] += max(0, len(expected) - len(got))
        tally["duplicated"] += max(0, len(got) - len(expected))
        n = min(len(got), len(expected))
        tally["wrong"] += int(np.sum(np.array([r[0] for r in got[:n]]) != expected[:n]))
    return tally


def main() -> None:
    """Run the chaos scenario and print the tally."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--redis-restarts", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    sizes = [rng.choice([1, 1, 1, 5, 50, 500, 5_000, 20_000]) for _ in range(args.jobs)]
    with tempfile.TemporaryDirectory(prefix="inferq-chaos-") as tmp:
        stack = Stack(Path(tmp), lease_seconds="3", sweep_seconds="0.5", max_attempts="10")
        try:
            stack.start_redis()
            stack.register_demo_models()
            stack.start_worker(concurrency=2)
            stack.start_worker(concurrency=1)
            stack.start_api()
            accepted: dict[str, int] = {}
            stop = threading.Event()
            client_thread = threading.Thread(target=submit_all, args=(stack, sizes, accepted, stop))
            client_thread.start()
            killed = kill_pool_processes(stack, args.kills, rng)
            for _ in range(args.redis_restarts):
                stack.redis_server.restart()
                time.sleep(rng.uniform(1.0, 2.0))
            client_thread.join(timeout=600)
            stop.set()
            with stack.client(timeout=180) as client:
                tally = check(client, accepted, sizes)
        finally:
            stack.stop()
    print(f"pool processes killed: {killed}, Redis restarts: {args.redis_restarts}")
    print(f"jobs submitted: {len(sizes)}, accepted: {len(accepted)}")
    print(
        f"succeeded: {tally['succeeded']}, failed: {tally['failed']}, lost: {tally['lost']}; "
        f"rows missing: {tally['missing']}, duplicated: {tally['duplicated']}, "
        f"wrong: {tally['wrong']}"
    )


if __name__ == "__main__":
    main()
