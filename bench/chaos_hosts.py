"""Chaos across hosts: worker hosts killed and cut off, the API host and the Redis primary's
host killed, under a steady load, on hosts made of Linux network namespaces.

Run as root: `.venv/bin/python -m bench.chaos_hosts` (options: --rounds, --before, --after,
--scenarios, --keep). It builds the hosts of tests/hosts.py (Redis primary, replica and three
Sentinels, moto S3, the API, two worker hosts, with SHORT_TIMEOUTS and MIN_REPLICAS=1) and runs
each scenario `--rounds` times, each round under a load of its own tenant (two clients of small
JSON jobs, one of streamed CSV uploads, every job with a webhook): `--before` jobs accepted, the
disruption, `--after` more jobs accepted, then every accepted job waited for and checked row by
row. `primary-kill-0` runs the primary kill with INFERQ_REDIS_MIN_REPLICAS=0 and counts what
that loses. Printed per round: accepted, succeeded, lost and the row counts, webhooks missing or
repeated, chunks run again (the kill or cut hit work in flight), the answers met; for the
primary kills, seconds from the kill to the Sentinels' promotion and to the first job accepted.
Targets: 0 accepted jobs lost and 0 rows missing or twice in every scenario but primary-kill-0;
serving again within 15 s of a primary kill.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inferq.jobs.keys import job_chunk_attempts
from tests import netns
from tests.host_chaos import (
    cut_worker_host,
    kill_primary_host,
    kill_worker_host,
    make_whole,
    restart_api,
    restart_api_host,
    serving_again,
)
from tests.host_load import Load, check
from tests.hosts import SHORT_TIMEOUTS, HostStack
from tests.netns import Network

CUT_SECONDS = 2 * float(SHORT_TIMEOUTS["visibility_timeout"])
SCENARIOS = ("worker-kill", "worker-cut", "api-restart", "primary-kill", "primary-kill-0")
ROWS = ("missing", "duplicated", "out_of_order", "wrong", "miscounted")


def disruption(stack: HostStack, scenario: str) -> Callable[[], Any]:
    """What the scenario does to the hosts once its load runs."""
    return {
        "worker-kill": lambda: kill_worker_host(stack, "worker1"),
        "worker-cut": lambda: cut_worker_host(stack, "worker1", CUT_SECONDS),
        "api-restart": lambda: restart_api_host(stack),
        "primary-kill": lambda: kill_primary_host(stack),
        "primary-kill-0": lambda: kill_primary_host(stack),
    }[scenario]


def run_round(stack: HostStack, scenario: str, args: argparse.Namespace) -> str:
    """One round of a scenario under a load of its own; its line of the report."""
    make_whole(stack)
    options = {"file_clients": 2, "csv_rows": 3000, "upload_pieces": 10, "piece_pause": 0.15}
    load = Load.for_new_tenant(
        stack, stack.receiver.url, **(options if scenario == "api-restart" else {})
    ).start()
    try:
        load.wait_accepted(args.before, seconds=300)
        started = time.monotonic()
        outcome = disruption(stack, scenario)()
        load.wait_accepted(len(load.accepted) + args.after, seconds=300)
    finally:
        load.stop()
    tally = check(load, stack.receiver.received, patience=300)
    return report_line(stack, scenario, load, tally, outcome, started)


def report_line(
    stack: HostStack, scenario: str, load: Load, tally: Counter[str], outcome: Any, started: float
) -> str:
    """The counts of one round."""
    rows = ", ".join(f"{name} {tally[name]}" for name in ROWS)
    met = Counter(answer for _, answer in load.timeline)
    answers = ", ".join(f"{a} ×{n}" for a, n in sorted(met.items()))
    line = (
        f"{scenario}: accepted {tally['accepted']}, succeeded {tally['succeeded']}, failed "
        f"{tally['failed']}, lost {tally['lost']}; rows: {rows}; "
        f"webhooks missing {tally['hooks_missing']}, repeated {tally['hooks_repeated']}; "
        f"uploads interrupted {tally['interrupted']}, unacknowledged {tally['unacknowledged']}, "
        f"unaccounted {tally['unaccounted']}; chunks run again {chunks_rerun(stack, load)}; "
        f"answers: {answers}"
    )
    if scenario.startswith("primary-kill"):
        again = serving_again(load, outcome)
        shown = "never" if again is None else f"{again:.1f} s"
        after = [a for _, a in load.answers_since(outcome.killed_at)]
        line += (
            f"; {outcome.old} -> {outcome.new}: promoted after "
            f"{outcome.promoted_at - outcome.killed_at:.1f} s, serving again after {shown}, "
            f"503s after the kill {after.count('503')}"
        )
    return line


def chunks_rerun(stack: HostStack, load: Load) -> int:
    """Chunk starts beyond the first, over the load's file jobs."""
    client = stack.redis()
    starts = [
        int(count)
        for job_id, job in load.accepted.items()
        if job.kind == "csv"
        for count in client.hvals(job_chunk_attempts(job_id))
    ]
    return sum(count - 1 for count in starts if count > 1)


def main() -> None:
    """Build the hosts, run the scenarios, print a line per round."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", type=int, default=60, help="jobs accepted before")
    parser.add_argument("--after", type=int, default=120, help="jobs accepted after")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--keep", action="store_true", help="keep the hosts' folder and logs")
    args = parser.parse_args()
    reason = netns.unavailable()
    if reason is not None:
        raise SystemExit(f"bench.chaos_hosts: {reason}")
    folder = Path(tempfile.mkdtemp(prefix="inferq-chaos-hosts-"))
    network = Network()
    started = time.monotonic()
    try:
        stack = HostStack(folder, network.up(), sentinel=True, **SHORT_TIMEOUTS)
        try:
            stack.start()
            for scenario in args.scenarios.split(","):
                run_scenario(stack, scenario, args)
        finally:
            stack.stop()
    finally:
        network.down()
        if args.keep:
            print(f"the hosts' folder and logs are kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"whole run {time.monotonic() - started:.0f} s")


def run_scenario(stack: HostStack, scenario: str, args: argparse.Namespace) -> None:
    """Every round of one scenario (MIN_REPLICAS=0 for `primary-kill-0`, restored after)."""
    without_replicas = scenario == "primary-kill-0"
    if without_replicas:
        restart_api(stack, redis_min_replicas="0")
    try:
        for _ in range(args.rounds):
            print(run_round(stack, scenario, args), flush=True)
    finally:
        if without_replicas:
            restart_api(stack, redis_min_replicas=SHORT_TIMEOUTS["redis_min_replicas"])


if __name__ == "__main__":
    main()
