"""inferq next to MLServer on the same model, one server alone on the machine at a time.

Run: `.venv/bin/python -m bench.peers` (or `make bench BENCH=peers`). In one run it:
  - measures the in-process baseline (one `predict` per row), before and after the servers;
  - starts inferq as `make run` does (`python -m inferq.launcher`, its defaults), uploads the
    HistGradientBoosting model over HTTP, and measures submit-and-poll (`POST /v1/jobs`, then
    long-poll `GET /v1/jobs/{id}`) and the one-request path (`POST /v1/jobs?wait=`): jobs/s with
    `--concurrency` keep-alive connections, p50 and p99 with one client; then stops it;
  - installs MLServer and mlserver-sklearn into their own venv (once), serves the same fitted
    model (joblib) with adaptive batching, and measures one-row v2 infer the same way for each
    `--parallel-workers` setting, one server at a time; the best setting stands for MLServer;
  - on both servers, v2 infer requests of `--big-rows` rows each (rows/s, `--big-concurrency`
    connections), against the in-process `predict` of the same many-row frames;
  - prints every measure and the ratios of the issue's targets table (issue 16).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from bench.launched import LaunchedService
from bench.measures import (
    Load,
    Measure,
    best,
    big_v2_targets,
    measure_pattern,
    peer_targets,
    v2_targets,
)
from bench.mlserver_peer import (
    MLSERVER_VERSION,
    Batching,
    MLServerPeer,
    ensure_venv,
    write_repository,
)
from bench.small_jobs import bodies, in_process_rows_per_second, train_model

ROOT = Path(__file__).resolve().parent.parent
MODEL = "bench_hgb"


def parse_args() -> argparse.Namespace:
    """The command line: sizes of the runs and the peer's settings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=30_000, help="one-row jobs per loaded run")
    parser.add_argument("--light-jobs", type=int, default=300, help="jobs in each latency run")
    parser.add_argument("--warmup-jobs", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=64, help="keep-alive connections")
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--parallel-workers", default="0,1,2", help="MLServer settings to try")
    parser.add_argument(
        "--peer-threads", type=int, default=1, help="MLServer's OMP_NUM_THREADS (0: its default)"
    )
    parser.add_argument("--max-batch-size", type=int, default=Batching.max_batch_size)
    parser.add_argument("--max-batch-time", type=float, default=Batching.max_batch_time)
    parser.add_argument(
        "--peer-venv",
        type=Path,
        default=ROOT / "var" / "bench" / "mlserver-venv",
        help="where MLServer is installed (kept between runs; `make clean` removes it)",
    )
    parser.add_argument("--big-rows", type=int, default=1000, help="rows per many-row request")
    parser.add_argument(
        "--big-requests",
        type=int,
        default=2000,
        help="many-row requests per run (300 ran ~2 s a server: its rate moved by 1.6x run to run)",
    )
    parser.add_argument("--big-concurrency", type=int, default=8)
    parser.add_argument("--skip-peer", action="store_true", help="measure inferq only")
    return parser.parse_args()


def make_load(rows: pd.DataFrame, args: argparse.Namespace) -> Load:
    """The same jobs for every server: one row each, rows reused past the data set's end."""
    loaded = rows.iloc[np.arange(args.jobs) % len(rows)]
    return Load(
        light=bodies(rows.iloc[: args.light_jobs], MODEL),
        loaded=bodies(loaded, MODEL),
        warmup=bodies(rows.iloc[-args.warmup_jobs :], MODEL),
        concurrency=args.concurrency,
        client_processes=args.client_processes,
    )


def make_big_load(rows: pd.DataFrame, args: argparse.Namespace) -> Load:
    """The same many-row requests for every server: `--big-rows` consecutive rows each."""

    def requests(count: int, offset: int) -> list[dict]:
        starts = (offset + np.arange(count) * args.big_rows) % (len(rows) - args.big_rows)
        return [
            {
                "model": MODEL,
                "dataframe_records": rows.iloc[i : i + args.big_rows].to_dict("records"),
            }
            for i in starts
        ]

    return Load(
        light=requests(20, 0),
        loaded=requests(args.big_requests, 7),
        warmup=requests(10, 3),
        concurrency=args.big_concurrency,
        client_processes=args.client_processes,
    )


def in_process_many_rows(model: object, rows: pd.DataFrame, size: int) -> float:
    """Rows/s of `predict` on frames of `size` rows in this process (one thread: a request)."""
    frames = [rows.iloc[i : i + size] for i in range(0, 10 * size, size)]
    with threadpool_limits(1):
        start = time.perf_counter()
        for frame in frames:
            model.predict(frame)  # type: ignore[attr-defined]
        return len(frames) * size / (time.perf_counter() - start)


def print_cpu_per_request(before: dict[str, float], after: dict[str, float], big: Load) -> None:
    """CPU milliseconds per many-row request of each part of inferq (warm-up, light and loaded
    requests all ran between the two readings)."""
    requests = len(big.light) + len(big.loaded) + len(big.warmup)
    spent = {role: (after[role] - before[role]) * 1000 / requests for role in after}
    parts = ", ".join(f"{role} {ms:.1f} ms" for role, ms in spent.items())
    print(f"inferq CPU per many-row request: {parts}", flush=True)


def measure_inferq(
    base: Path, model: object, load: Load, big: Load
) -> tuple[Measure, Measure, Measure, Measure]:
    """Submit-and-poll, one-request, one-row and many-row v2 infer (issue 19) on a `make run`
    inferq, then stop it."""
    service = LaunchedService(base)
    try:
        url = service.start()
        service.upload_model(MODEL, model)
        submit_poll = measure_pattern(
            "inferq submit-and-poll", url, service.key, "submit-poll", load
        )
        one_request = measure_pattern("inferq one-request", url, service.key, "one-request", load)
        v2 = measure_pattern("inferq v2 infer", url, service.key, "v2-infer", load)
        before = service.cpu_seconds()
        many = measure_pattern("inferq many-row v2 infer", url, service.key, "v2-infer", big)
        print_cpu_per_request(before, service.cpu_seconds(), big)
    finally:
        service.stop()
    return submit_poll, one_request, v2, many


def measure_mlserver(
    base: Path, model: object, load: Load, big: Load, args: argparse.Namespace
) -> tuple[list[Measure], list[Measure]]:
    """One-row and many-row v2 infer on MLServer for each `parallel_workers` setting, one server
    at a time."""
    command = ensure_venv(args.peer_venv)
    batching = Batching(args.max_batch_size, args.max_batch_time)
    write_repository(base, MODEL, model, batching)
    print(
        f"MLServer {MLSERVER_VERSION}: adaptive batching {batching}, "
        f"OMP_NUM_THREADS={args.peer_threads or 'default'}, access logs off",
        flush=True,
    )
    measures, many = [], []
    for workers in (int(value) for value in args.parallel_workers.split(",")):
        peer = MLServerPeer(command, base, MODEL, workers, args.peer_threads)
        try:
            url = peer.start()
            name = f"MLServer (parallel_workers={workers})"
            measures.append(measure_pattern(name, url, "", "v2-infer", load))
            many.append(measure_pattern(f"{name}, many-row", url, "", "v2-infer", big))
        finally:
            peer.stop()
        print(measures[-1].line(), many[-1].line(), sep="\n", flush=True)
    return measures, many


def main() -> None:
    """Run the benchmark; print the measures and the ratios of the targets table."""
    args = parse_args()
    model, rows = train_model()
    load, big = make_load(rows, args), make_big_load(rows, args)
    before = in_process_rows_per_second(model, rows.iloc[:2000])
    print(f"in-process predict per row: {before:,.0f} rows/s", flush=True)
    many_rows = in_process_many_rows(model, rows, args.big_rows)
    print(f"in-process predict of {args.big_rows:,} rows: {many_rows:,.0f} rows/s", flush=True)
    if not args.skip_peer:
        ensure_venv(args.peer_venv)  # installed before any server runs, never during a run
    with tempfile.TemporaryDirectory(prefix="inferq-bench-peers-") as tmp:
        measured = measure_inferq(Path(tmp) / "inferq", model, load, big)
        submit_poll, one_request, v2, many = measured
        print(*(measure.line() for measure in measured), sep="\n", flush=True)
        peers, peers_many = (
            ([], [])
            if args.skip_peer
            else measure_mlserver(Path(tmp) / "mlserver", model, load, big, args)
        )
    after = in_process_rows_per_second(model, rows.iloc[:2000])
    baseline = max(before, after)
    print(f"in-process predict per row, again after the servers: {after:,.0f} rows/s")
    print(f"\n{args.jobs:,} jobs per loaded run, {args.concurrency} connections; ratios:")
    if not peers:
        print(
            f"submit-and-poll / one-request: {submit_poll.per_second / one_request.per_second:.2f}x"
        )
        return
    peer = best(peers)
    print(f"MLServer's best setting: {peer.name}")
    for target in peer_targets(submit_poll, one_request, baseline, peer):
        print(target.line())
    for target in v2_targets(v2, peer):
        print(target.line())
    peer_many = best(peers_many)
    print(f"MLServer's best setting for {args.big_rows:,}-row requests: {peer_many.name}")
    for target in big_v2_targets(many, peer_many):
        print(target.line())


if __name__ == "__main__":
    main()
