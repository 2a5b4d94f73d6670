"""How many one-row jobs one Redis core carries: several API processes under many connections.

The machine this runs on has 2 cores shared with other work, so the raw jobs/s it reaches says
more about the machine than about Redis: the API processes, the worker and the load generator
fill both cores long before Redis does. What is robust to that is CPU seconds per job: the
redis-server process's utime + stime (/proc/PID/stat) over the run, divided by the jobs, and
the same for the API processes, the worker and the load generator. One Redis core then carries
1 / (Redis CPU seconds per job) jobs/s: an extrapolation from a server that was not saturated
(a saturated one batches more per wake-up, so this errs on the low side).
"""

from __future__ import annotations

import argparse
import os
import resource
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import redis

from bench.capacity_report import Operation, print_operations
from bench.launched import LaunchedService
from bench.loadgen import run_load
from bench.redis_counts import RedisCounter, RedisWork
from bench.small_jobs import bodies
from inferq.redis_server import RedisServer

PROTOCOLS = ("submit-poll", "one-request")


@dataclass(frozen=True)
class CoreRun:
    """One load run: jobs, wall seconds, Redis's work and each part's CPU seconds."""

    protocol: str
    jobs: int
    wall: float
    work: RedisWork
    cpu: dict[str, float]
    busy_cores: float

    def per_job_ms(self, part: str) -> float:
        """CPU milliseconds per job of one part (`api`, `worker`, `client`)."""
        return self.cpu.get(part, 0.0) / self.jobs * 1e3

    @property
    def redis_us_per_job(self) -> float:
        """Redis CPU microseconds per job."""
        return self.work.cpu_seconds / self.jobs * 1e6

    def line(self) -> str:
        """One printed line with the raw rate and the per-job costs."""
        jobs, work = self.jobs, self.work
        return (
            f"{self.protocol}: {jobs / self.wall:,.0f} jobs/s raw (machine "
            f"{self.busy_cores:.2f} of {os.cpu_count()} cores busy); per job: Redis CPU "
            f"{self.redis_us_per_job:.1f} us, {work.commands / jobs:.1f} commands, "
            f"{work.reads / jobs:.1f} reads, "
            f"{work.bytes_in / jobs:,.0f} B in, {work.bytes_out / jobs:,.0f} B out; CPU ms: API "
            f"{self.per_job_ms('api'):.3f}, worker {self.per_job_ms('worker'):.3f}, load "
            f"generator {self.per_job_ms('client'):.3f}; Redis used "
            f"{work.cpu_seconds / self.wall * 100:.0f}% of a core -> one Redis core: "
            f"{1e6 / self.redis_us_per_job:,.0f} jobs/s"
        )


def machine_busy_seconds() -> tuple[float, float]:
    """(busy CPU seconds of all cores, wall-clock CPU seconds of all cores) from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields) - idle) / tick, sum(fields) / tick


def _our_cpu() -> float:
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def one_run(
    service: LaunchedService,
    counter: RedisCounter,
    jobs: list[dict],
    protocol: str,
    args: argparse.Namespace,
) -> CoreRun:
    """Drive `jobs` through `protocol` and measure Redis and every part."""
    before, client, machine = service.cpu_seconds(), _our_cpu(), machine_busy_seconds()
    with counter.span() as work:
        _, wall = run_load(
            service.url, service.key, jobs, args.concurrency, args.client_processes, protocol
        )
    after, machine_after = service.cpu_seconds(), machine_busy_seconds()
    spent = {part: after[part] - before.get(part, 0.0) for part in after}
    spent["client"] = _our_cpu() - client
    cores = (
        (machine_after[0] - machine[0]) / (machine_after[1] - machine[1]) * (os.cpu_count() or 1)
    )
    return CoreRun(protocol, len(jobs), wall, work[0], spent, cores)


def core_runs(
    base: Path, model: object, rows: pd.DataFrame, args: argparse.Namespace
) -> list[CoreRun]:
    """`make run` with several API processes on a bench-started Redis; each protocol's runs."""
    server = RedisServer(base / "redis").start()
    settings = {"redis_url": server.url, "api_workers": str(args.api_processes)}
    service = LaunchedService(base / "service", settings)
    runs = []
    try:
        service.start()
        service.upload_model("bench_hgb", model)
        counter = RedisCounter(redis.Redis.from_url(server.url), server.pid)
        counter.learn_idle(args.idle_seconds)
        load = bodies(rows.iloc[np.arange(args.load_jobs) % len(rows)])
        print(
            f"\n## Redis core: {args.api_processes} API processes, {args.client_processes} load "
            f"generator processes, {args.concurrency} connections, {args.load_jobs:,} jobs a run"
        )
        for _ in range(args.core_repeat):
            for protocol in PROTOCOLS:
                run_load(service.url, service.key, load[:500], 32, protocol=protocol)  # warm-up
                runs.append(one_run(service, counter, load, protocol, args))
                print(runs[-1].line(), flush=True)
    finally:
        service.stop()
        server.stop()
    operations = [
        Operation(f"{run.protocol} {n}", run.work, run.cpu, run.jobs)
        for n, run in enumerate(runs, 1)
    ]
    print_operations("Redis core runs (per job)", operations, add_up=False)
    return runs
