"""Redis memory under a stream of jobs: before, at the peak, and after retention has passed.

Run: `.venv/bin/python -m bench.redis_memory` (options: --jobs, --streams, --retention, --clients).
It starts its own Redis, a worker of two processes and the API with a short retention, runs a
warm-up stream and lets it expire (so every long-lived key exists), then submits --jobs jobs
(JSON jobs of 1 to 50 iris rows, and one CSV file of 2,000 rows per 100 jobs) from several
clients, waits for them to end and for retention and the record grace to pass, and does that
again (--streams); it prints Redis `used_memory`, `used_memory_dataset` and the number of keys
at each step.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import redis

from tests.helpers import demo_rows
from tests.stack import Stack

ENDED = {"succeeded", "failed", "cancelled", "expired"}
JOB_KEYS = ("inferq:job:", "inferq:jobs:", "inferq:idem:", "inferq:rate:")


def submit_one(client: httpx.Client, index: int) -> str:
    """One job: a CSV file every 100th, else a JSON job of 1 to 50 rows (some idempotent)."""
    if index % 100 == 99:
        body = demo_rows("iris", 2_000, seed=index).to_csv(index=False).encode()
        response = client.post(
            "/v1/jobs?model=iris", content=body, headers={"content-type": "text/csv"}
        )
    else:
        rows = demo_rows("iris", 1 + index % 50, seed=index).to_numpy().tolist()
        headers = {"Idempotency-Key": f"memory-{index}"} if index % 3 == 0 else {}
        response = client.post(
            "/v1/jobs", json={"model": "iris", "instances": rows}, headers=headers
        )
    response.raise_for_status()
    return response.json()["id"]


def run_stream(stack: Stack, jobs: int, clients: int) -> float:
    """Submit `jobs` jobs from `clients` threads and wait until each has ended; seconds taken."""
    start = time.perf_counter()
    with stack.client(timeout=120) as client, ThreadPoolExecutor(clients) as pool:
        ids = list(pool.map(lambda i: submit_one(client, i), range(jobs)))
        for job_id in ids:
            status = client.get(f"/v1/jobs/{job_id}", params={"wait": 60}).json()["status"]
            assert status in ENDED, status
    return time.perf_counter() - start


def memory(client: redis.Redis) -> dict[str, int]:
    """Redis's own memory counters and the number of keys."""
    info = client.info("memory")
    return {
        "used_memory": int(info["used_memory"]),
        "used_memory_dataset": int(info["used_memory_dataset"]),
        "keys": int(client.dbsize()),
    }


def wait_forgotten(client: redis.Redis, seconds: float) -> float:
    """Wait until no key of a job (record, listing, idempotency, rate) is left; seconds waited."""
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        if not any(k.decode().startswith(JOB_KEYS) for k in client.scan_iter(count=1000)):
            return time.perf_counter() - start
        time.sleep(0.5)
    raise TimeoutError(f"job keys still in Redis after {seconds:.0f} s")


def main() -> None:
    """Run warm-up, then the streams and their expiry, and print the memory at each step."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000, help="jobs per stream")
    parser.add_argument("--streams", type=int, default=2, help="streams, one after the other")
    parser.add_argument("--retention", type=int, default=60, help="retention seconds")
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    steps: list[tuple[str, dict[str, int]]] = []
    with tempfile.TemporaryDirectory(prefix="inferq-memory-") as tmp:
        stack = Stack(
            Path(tmp),
            retention_seconds=str(args.retention),
            record_grace_seconds="2",
            sweep_seconds="0.5",
            file_chunk_bytes=str(16 * 1024),
        )
        with stack.running(workers=2):
            client = stack.redis()
            budget = args.retention * 3 + 120
            run_stream(stack, 100, args.clients)
            wait_forgotten(client, budget)
            steps.append(("before (warm-up expired)", memory(client)))
            for number in range(1, args.streams + 1):
                seconds = run_stream(stack, args.jobs, args.clients)
                steps.append(
                    (f"stream {number}: {args.jobs} jobs ended ({seconds:.0f} s)", memory(client))
                )
                waited = wait_forgotten(client, budget)
                steps.append((f"stream {number}: expired ({waited:.0f} s later)", memory(client)))
    print(f"retention {args.retention} s + 2 s record grace; {args.clients} clients")
    print(f"{'':<36} {'used_memory':>12} {'dataset':>12} {'keys':>7}")
    for name, values in steps:
        used, dataset, keys = values["used_memory"], values["used_memory_dataset"], values["keys"]
        print(f"{name:<36} {used:>12,} {dataset:>12,} {keys:>7,}")


if __name__ == "__main__":
    main()
