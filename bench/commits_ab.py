"""Two commits of inferq side by side, measured in turns in one window: did a change help?

Run: `.venv/bin/python -m bench.commits_ab --base <rev>` (the other side is this checkout). It
checks `<rev>` out into a temporary git worktree, starts both as `make run` does
(`bench.launched.LaunchedService`, each from its own checkout, with this venv), uploads the
HistGradientBoosting model to each, warms both up, then runs `--rounds` rounds. In each round
every pattern (`--patterns`, as `bench.loadgen` names them) is measured on both services, the
order turning each time (A B, B A, ...), so a host whose speed drifts within the window favours
neither. Both services stay up for the whole run; the one not being measured is idle.

It prints each run's jobs/s and server CPU per job (API, Redis and worker processes, from
/proc), then per pattern the ratios this checkout ÷ base, round by round and their mean.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from bench.launched import ROOT, LaunchedService
from bench.loadgen import run_load
from bench.small_jobs import bodies, train_model

MODEL = "bench_hgb"


def parse_args() -> argparse.Namespace:
    """The command line: the base commit and the sizes of the runs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the commit to compare with (git rev)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=6000, help="one-row jobs per run")
    parser.add_argument(
        "--warmup-jobs", type=int, default=5000, help="per pattern: past the first 10,000 rows"
    )
    parser.add_argument("--patterns", default="submit-poll,one-request")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--client-processes", type=int, default=2)
    return parser.parse_args()


def measure(
    service: LaunchedService, jobs: list[dict], pattern: str, args: argparse.Namespace
) -> tuple[float, float]:
    """Jobs/s and server CPU milliseconds per job of one loaded run."""
    before = service.cpu_seconds()
    _, wall = run_load(
        service.url, service.key, jobs, args.concurrency, args.client_processes, pattern
    )
    after = service.cpu_seconds()
    cpu = sum(after[part] - before.get(part, 0.0) for part in after)
    return len(jobs) / wall, cpu * 1000 / len(jobs)


def main() -> None:
    """Run the rounds and print the ratios."""
    args = parse_args()
    model, rows = train_model()
    jobs = bodies(rows.iloc[: args.jobs], MODEL)
    warmup = bodies(rows.iloc[-args.warmup_jobs :], MODEL)
    patterns = args.patterns.split(",")
    with tempfile.TemporaryDirectory(prefix="inferq-bench-ab-") as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base),
                        args.base], check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        services = {
            "base": LaunchedService(Path(tmp) / "run-base", root=base),
            "this": LaunchedService(Path(tmp) / "run-this"),
        }
        try:
            for service in services.values():
                service.start()
                service.upload_model(MODEL, model)
                for pattern in patterns:
                    run_load(service.url, service.key, warmup, 64, 2, pattern)
            results: dict[tuple[str, str], list[tuple[float, float]]] = {}
            for number in range(args.rounds):
                order = ["base", "this"] if number % 2 == 0 else ["this", "base"]
                for pattern in patterns:
                    for side in order:
                        rate, cpu = measure(services[side], jobs, pattern, args)
                        results.setdefault((side, pattern), []).append((rate, cpu))
                        print(f"round {number} {side:4} {pattern:12} {rate:7,.0f} jobs/s, "
                              f"server CPU {cpu:.3f} ms/job", flush=True)  # fmt: skip
                    order.reverse()
        finally:
            for service in services.values():
                service.stop()
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)],
                           check=False, capture_output=True)  # fmt: skip
    for pattern in patterns:
        this, base_runs = results[("this", pattern)], results[("base", pattern)]
        rates = [t[0] / b[0] for t, b in zip(this, base_runs, strict=True)]
        cpus = [t[1] / b[1] for t, b in zip(this, base_runs, strict=True)]
        print(
            f"{pattern}: this ÷ {args.base} jobs/s {', '.join(f'{r:.2f}' for r in rates)} "
            f"(mean {np.mean(rates):.2f}); server CPU per job "
            f"{', '.join(f'{c:.2f}' for c in cpus)} (mean {np.mean(cpus):.2f})"
        )


if __name__ == "__main__":
    main()
