"""Usage metering on against off, same run: one-row jobs/s through real stacks (issue 23).

    python -m bench.usage_ab                          # 3 rounds of 20,000 one-row jobs each
    python -m bench.usage_ab --jobs 5000 --rounds 1   # a quicker look
    python -m bench.usage_ab --script-cost            # Redis CPU of the usage part of a script

Each round starts the bench stack of `bench.small_jobs` (one API process, one worker process,
limits lifted) with `INFERQ_USAGE_METERING` off and one with it on, alternating which goes
first, and sends the same one-row jobs (one-request pattern, 64 at a time). It reports jobs/s
(the best of each setting: this machine's speed drifts with its neighbours' load) and the CPU
seconds the API, the worker processes and Redis spent per 1,000 jobs (less at the mercy of the
neighbours than wall time).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import orjson
import pandas as pd
import redis

from bench.bulk_csv import cpu_seconds
from bench.loadgen import run_load
from bench.monitoring_ab import worker_cpu
from bench.small_jobs import bodies, register, train_model
from inferq.redis_server import RedisServer
from inferq.usage.counting import USAGE_LUA, UsageMeter
from inferq.usage.keys import TENANT_ROWS, day_key, today
from tests.stack import Stack


def stack_cpu(stack: Stack) -> float:
    """CPU seconds used so far by the stack's API, workers (with pool processes) and Redis."""
    pids = [p for p in (stack.api.pid if stack.api else None, stack.redis_server.pid) if p]
    return worker_cpu(stack) + sum(cpu_seconds(pid) for pid in pids)


def measure(base: Path, metering: bool, rows: pd.DataFrame, jobs: int, concurrency: int) -> dict:
    """jobs/s and stack CPU seconds per 1,000 jobs of one-row jobs on a fresh stack."""
    stack = Stack(
        base,
        usage_metering=str(metering).lower(),
        rate_limit_per_second="1000000",
        rate_limit_burst="1000000",
        max_jobs_in_flight="1000000",
    )
    try:
        stack.start_redis()
        model, _ = train_model()
        register(stack, model)
        stack.start_worker(concurrency=1)
        url = stack.start_api()
        run_load(url, stack.admin_key, bodies(rows.iloc[:500]), concurrency=8)  # warm-up
        loaded = bodies(rows.iloc[[i % len(rows) for i in range(jobs)]])
        cpu = stack_cpu(stack)
        _, seconds = run_load(url, stack.admin_key, loaded, concurrency)
        spent = stack_cpu(stack) - cpu
        counted = stack.redis().hgetall(day_key("default", today()))
        rows_counted = sum(int(v) for k, v in counted.items() if k.endswith(b"|rows_scored"))
        assert rows_counted == (jobs + 500 if metering else 0), rows_counted
        return {"jobs_per_s": jobs / seconds, "cpu_s_per_1000_jobs": 1000 * spent / jobs}
    finally:
        stack.stop()


def script_cost(calls: int = 20_000) -> None:
    """Redis's own CPU per script call (INFO commandstats) with no usage entry, a submission's
    (jobs, bytes in) and a batch's (rows, CPU time): what metering adds to each script."""
    body = (
        USAGE_LUA
        + """
usage_count(ARGV[1], ARGV[2], KEYS[1])
return 1
"""
    )
    meter = UsageMeter()
    entries = {
        "no usage": b"",
        "a submission's entry": orjson.dumps(meter.entry("acme", "churn", jobs=1, bytes_in=140)),
        "a batch's entry": orjson.dumps(meter.entry("acme", "churn", rows_scored=1, cpu_us=35)),
    }
    with tempfile.TemporaryDirectory(prefix="inferq-usage-cost-") as tmp:
        server = RedisServer(Path(tmp), appendonly=False).start()
        try:
            client = redis.Redis.from_url(server.url)
            script = client.register_script(body)
            for name, entry in entries.items():
                for _ in range(calls // 10):  # warm-up
                    script(keys=[TENANT_ROWS], args=[entry, 86400])
                client.config_resetstat()
                for _ in range(calls):
                    script(keys=[TENANT_ROWS], args=[entry, 86400])
                stats = client.info("commandstats")["cmdstat_evalsha"]
                print(f"{name}: {stats['usec_per_call']:.2f} us of Redis CPU per call")
        finally:
            server.stop()


def main() -> None:
    """Alternate off and on for `--rounds` rounds; print the best of each and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--script-cost", action="store_true", help="only the script cost")
    args = parser.parse_args()
    if args.script_cost:
        script_cost()
        return
    _, rows = train_model()
    best: dict[bool, dict[str, float]] = {False: {}, True: {}}
    with tempfile.TemporaryDirectory(prefix="inferq-usage-ab-") as tmp:
        for round_ in range(args.rounds):
            for metering in (False, True) if round_ % 2 == 0 else (True, False):
                base = Path(tmp) / f"{round_}-{metering}"
                result = measure(base, metering, rows, args.jobs, args.concurrency)
                print(f"round {round_ + 1}, metering {'on ' if metering else 'off'}: {result}")
                jobs_per_s = max(best[metering].get("jobs_per_s", 0.0), result["jobs_per_s"])
                cpu = min(
                    best[metering].get("cpu_s_per_1000_jobs", 1e9), result["cpu_s_per_1000_jobs"]
                )
                best[metering] = {"jobs_per_s": jobs_per_s, "cpu_s_per_1000_jobs": cpu}
    off, on = best[False], best[True]
    print(
        f"jobs/s: off {off['jobs_per_s']:,.0f}, on {on['jobs_per_s']:,.0f}, "
        f"on/off {on['jobs_per_s'] / off['jobs_per_s']:.3f} (overhead target <= 3%)"
    )
    print(
        f"stack CPU s per 1,000 jobs: off {off['cpu_s_per_1000_jobs']:.3f}, "
        f"on {on['cpu_s_per_1000_jobs']:.3f}, on/off "
        f"{on['cpu_s_per_1000_jobs'] / off['cpu_s_per_1000_jobs']:.3f}"
    )


if __name__ == "__main__":
    main()
