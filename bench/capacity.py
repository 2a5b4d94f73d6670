"""Capacity: Redis commands, bytes and CPU per one-row job, per file chunk and per webhook,
and how many jobs one Redis core carries.

Run: `.venv/bin/python -m bench.capacity` (`make bench BENCH=capacity`); `--help` for sizes.

Everything runs on inferq as `make run` starts it (`python -m inferq.launcher` and its defaults)
against a redis-server the bench starts, so its PID is known. Only these settings differ: a
short retention (so expiry is measured in the run), and webhooks may target 127.0.0.1 (the
bench's receiver); the Redis-core run sets several API processes.

Counting (`INFO commandstats`, `INFO stats` bytes, the server's CPU from /proc), one span per
operation, the server's idle rate taken out (`bench.redis_counts`):
  - one-row JSON jobs: submitted while the worker is stopped (SIGSTOP, so the span holds only
    the API's work), then scored (claim, scoring, result write, events, metrics), then read once
    each (`GET /v1/jobs/{id}?include=results`: a poll of an ended job), then expired and forgotten
    by the janitor;
  - the same jobs with a webhook: the difference is the cost of one delivery;
  - two CSV files of different sizes (`INFERQ_FILE_CHUNK_BYTES` chunks): the difference per chunk
    is the cost of a chunk, the rest is the cost of a file job.
Then the Redis-core run (`bench.redis_core`): several API processes under many connections.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from bench.capacity_files import files
from bench.capacity_report import Operation, print_operations
from bench.counted_service import CountedService
from bench.loadgen import HttpClient
from bench.receiver import WebhookReceiver
from bench.redis_core import core_runs
from bench.small_jobs import bodies, train_model
from inferq.jobs import keys


def submit_all(url: str, key: str, jobs: list[dict[str, Any]], concurrency: int = 16) -> list[str]:
    """Submit every job (`POST /v1/jobs`, no wait) over `concurrency` connections; their ids."""

    async def run() -> list[str]:
        ids: list[str] = []
        pending = iter(jobs)

        async def client() -> None:
            http = HttpClient(url, key)
            try:
                for body in pending:
                    status, raw = await http.post("/v1/jobs", body)
                    if status != 202:
                        raise RuntimeError(f"submission refused: {status} {raw[:300]!r}")
                    ids.append(orjson.loads(raw)["id"])
            finally:
                await http.close()

        await asyncio.gather(*(client() for _ in range(concurrency)))
        return ids

    return asyncio.run(run())


def read_all(url: str, key: str, ids: list[str], concurrency: int = 16) -> None:
    """Read each ended job once with its results, as a poll that finds it ended does."""

    async def run() -> None:
        pending = iter(ids)

        async def client() -> None:
            http = HttpClient(url, key)
            try:
                for job_id in pending:
                    status, raw = await http.request(
                        b"GET", f"/v1/jobs/{job_id}?wait=10&include=results"
                    )
                    if status != 200 or b'"succeeded"' not in raw:
                        raise RuntimeError(f"job {job_id} not succeeded: {raw[:300]!r}")
            finally:
                await http.close()

        await asyncio.gather(*(client() for _ in range(concurrency)))

    asyncio.run(run())


def small_jobs(
    counted: CountedService, rows: pd.DataFrame, count: int, prefix: str = "", webhook: str = ""
) -> list[Operation]:
    """Submit (worker stopped), score, and poll `count` one-row jobs, each in its own span."""
    jobs = bodies(rows.iloc[:count])
    if webhook:
        jobs = [{**job, "webhook": {"url": webhook}} for job in jobs]
    url, key = counted.service.url, counted.service.key
    ids: list[str] = []
    with counted.worker_stopped():
        submit = counted.operation(
            f"{prefix}submit", count, lambda: ids.extend(submit_all(url, key, jobs))
        )
    work = counted.operation(f"{prefix}claim, score, write", count, counted.wait_idle)
    operations = [submit, work]
    if not webhook:
        operations.append(
            counted.operation("poll (ended job)", count, lambda: read_all(url, key, ids))
        )
    return operations


def expiry(counted: CountedService, count: int) -> Operation:
    """Wait until the first job's retention is nearly over, then count the janitor expiring
    and forgetting every job."""
    time.sleep(max(0.0, counted.first_expiry() - time.time() - 1.0))

    def forgotten() -> bool:
        return (
            counted.counter.ask("ZCARD", keys.EXPIRY_ZSET) == 0
            and counted.counter.ask("ZCARD", keys.FORGET_ZSET) == 0
        )

    return counted.operation(
        "expiry + forget (janitor)", count, lambda: counted.wait_until(forgotten, "expiry")
    )


def counting(base: Path, model: object, rows: pd.DataFrame, args: argparse.Namespace) -> None:
    """The per-operation tables: small jobs, webhooks, expiry, file chunks."""
    settings = {
        "retention_seconds": str(args.retention),
        "record_grace_seconds": "2",
        "webhook_allowed_hosts": "127.0.0.1",
    }
    counted = CountedService(base, settings)
    try:
        counted.service.upload_model("bench_hgb", model)
        counted.http.post("/v1/webhook-secrets").raise_for_status()
        with WebhookReceiver() as receiver:
            # Warm up: every process has the model loaded and every script cached.
            small_jobs(counted, rows, 200, webhook=receiver.url)
            idle = counted.learn_idle(args.idle_seconds)
            parts = ", ".join(f"{p} {v * 100:.1f}%" for p, v in counted.idle_cpu.items())
            print(
                f"idle (subtracted from every span): Redis {idle.commands:.1f} commands/s, "
                f"{idle.bytes_in:,.0f} B/s in, {idle.bytes_out:,.0f} B/s out, "
                f"{idle.cpu_seconds * 100:.2f}% of a core; other parts' CPU: {parts}"
            )
            held = counted.memory()
            plain = small_jobs(counted, rows, args.jobs)
            held = (counted.memory() - held) / args.jobs
            hooked = small_jobs(counted, rows, args.jobs, "webhook: ", webhook=receiver.url)
            if counted.first_expiry() < time.time():
                raise RuntimeError("jobs expired before the expiry span: raise --retention")
            expired = expiry(counted, 2 * args.jobs + 200)
        print_operations(f"one-row JSON job ({args.jobs} jobs; per job)", [*plain, expired])
        print(f"\nRedis memory held per ended one-row job until it expires: {held:,.0f} bytes")
        print_operations("with a webhook (per job; minus the plain job = one delivery)", hooked)
        files(counted, base, args)
    finally:
        counted.stop()


def parse_args() -> argparse.Namespace:
    """Sizes of the runs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000, help="one-row jobs per counted run")
    parser.add_argument("--retention", type=int, default=90, help="INFERQ_RETENTION_SECONDS")
    parser.add_argument("--idle-seconds", type=float, default=10.0, help="idle rate window")
    parser.add_argument("--small-file-rows", type=int, default=20_000)
    parser.add_argument("--file-rows", type=int, default=1_000_000)
    parser.add_argument("--load-jobs", type=int, default=20_000, help="jobs per Redis-core run")
    parser.add_argument("--api-processes", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--core-repeat", type=int, default=2, help="runs of each protocol")
    parser.add_argument("--skip-counting", action="store_true")
    parser.add_argument("--skip-core", action="store_true")
    return parser.parse_args()


def main() -> None:
    """Count per operation, then measure the Redis core."""
    args = parse_args()
    model, rows = train_model()
    with tempfile.TemporaryDirectory(prefix="inferq-capacity-") as tmp:
        if not args.skip_counting:
            counting(Path(tmp) / "counting", model, rows, args)
        if not args.skip_core:
            core_runs(Path(tmp) / "core", model, rows, args)


if __name__ == "__main__":
    main()
