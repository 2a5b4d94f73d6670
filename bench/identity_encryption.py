"""Issue 23's targets: one-row jobs/s with OIDC tokens against API keys, and a bulk CSV job
with encryption at rest against without, each pair measured in the same run, alternating.

Run: `.venv/bin/python -m bench.identity_encryption [--jobs N] [--rows N] [--rounds N]`.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from bench.bulk_csv import inferq_run, make_csv, start_stack, train_models
from bench.loadgen import run_load
from inferq.api_keys import KeyStore
from inferq.keyring import new_key_text
from tests.helpers import demo_rows
from tests.oidc_issuer import AUDIENCE, Issuer
from tests.stack import Stack

UNLIMITED = {
    "rate_limit_per_second": "1000000",
    "rate_limit_burst": "1000000",
    "max_jobs_in_flight": "1000000",
}


def tokens_against_keys(base: Path, jobs: int, rounds: int, concurrency: int) -> None:
    """One-row iris jobs/s sent with an API key and with an OIDC token of the same tenant."""
    issuer = Issuer()
    with issuer.serving():
        stack = Stack(base, oidc_issuer=issuer.url, oidc_audience=AUDIENCE, **UNLIMITED)
        with stack.running(workers=os.cpu_count() or 2):
            _, key = KeyStore(stack.redis()).create("bench", ["jobs:write", "jobs:read"])
            credentials = {"api key": key, "oidc token": issuer.token(issuer.claims("bench"))}
            rows = demo_rows("iris", jobs, seed=1).to_dict("records")
            bodies = [{"model": "iris", "dataframe_records": [row]} for row in rows]
            for credential in credentials.values():  # warm-up: models, pools, JWKS
                run_load(stack.api_url, credential, bodies[:200], concurrency=4)
            rates: dict[str, list[float]] = {name: [] for name in credentials}
            for _ in range(rounds):
                for name, credential in credentials.items():
                    _, seconds = run_load(stack.api_url, credential, bodies, concurrency)
                    rates[name].append(jobs / seconds)
    for name, values in rates.items():
        print(f"{name:>11}: " + ", ".join(f"{v:,.0f}" for v in values) + " jobs/s")
    ratio = max(rates["oidc token"]) / max(rates["api key"])
    print(f"one-row jobs/s, token / key (best of {rounds}): {ratio:.2f} (target >= 0.95)")


def encrypted_against_clear(base: Path, rows: int, rounds: int) -> None:
    """Upload to download seconds of one CSV job, with and without INFERQ_ENCRYPTION_KEYS."""
    csv = base / "rows.csv"
    make_csv(csv, rows)
    models = {"hgb": train_models(csv)["hist_gradient_boosting"]}
    settings = {"clear": {}, "encrypted": {"encryption_keys": new_key_text("bench")}}
    stacks = {name: start_stack(base / name, models, **extra) for name, extra in settings.items()}
    seconds: dict[str, list[float]] = {name: [] for name in stacks}
    try:
        for _ in range(rounds):
            for name, stack in stacks.items():
                _, downloaded, job = inferq_run(stack, csv, "hgb", base / f"{name}.out.csv")
                assert job["status"] == "succeeded", job
                seconds[name].append(downloaded)
    finally:
        for stack in stacks.values():
            stack.stop()
    for name, values in seconds.items():
        print(f"{name:>9}: " + ", ".join(f"{v:.2f} s" for v in values))
    ratio = min(seconds["clear"]) / min(seconds["encrypted"])
    print(f"bulk {rows:,}-row CSV rows/s, encrypted / clear (best of {rounds}): {ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=5_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", choices=["tokens", "encryption"], default=None)
    parser.add_argument("--work", type=Path, default=None, help="folder kept (default: tmp)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="inferq-bench-") as tmp:
        work = args.work or Path(tmp)
        if args.only != "encryption":
            tokens_against_keys(work / "oidc", args.jobs, args.rounds, args.concurrency)
        if args.only != "tokens":
            (work / "bulk").mkdir(parents=True)
            encrypted_against_clear(work / "bulk", args.rows, args.rounds)


if __name__ == "__main__":
    main()
