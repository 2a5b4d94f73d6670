"""inferq next to MLServer on the same model, one server alone on the machine at a time.

Run: `.venv/bin/python -m bench.peers` (or `make bench BENCH=peers`). In one run it:
  - measures the in-process baseline (one `predict` per row), before and after the servers;
  - installs MLServer and mlserver-sklearn into their own venv (once), serves the same fitted
    model (joblib) with adaptive batching, and measures one-row v2 infer for each
    `--parallel-workers` setting, one server at a time, to find its best setting;
  - starts inferq as `make run` does (`python -m inferq.launcher`, its defaults), uploads the
    HistGradientBoosting model over HTTP, and measures submit-and-poll (`POST /v1/jobs`, then
    long-poll `GET /v1/jobs/{id}`) and the one-request path (`POST /v1/jobs?wait=`): jobs/s with
    `--concurrency` keep-alive connections, p50 and p99 with one client; then stops it;
  - measures MLServer's best setting again, then a second inferq round (the job patterns in the
    opposite order): the ratios divide inferq's mean by that fresh peer measure (A-B-A);
  - on both servers, v2 infer requests of `--big-rows` rows each (rows/s, `--big-concurrency`
    connections), against the in-process `predict` of the same many-row frames;
  - prints every measure and the ratios of the issue's targets table (issue 16).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from bench.launched import LaunchedService
from bench.measures import (
    Load,
    Measure,
    best,
    big_v2_targets,
    mean_measure,
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
    parser.add_argument(
        "--warmup-jobs",
        type=int,
        default=11_000,
        help="per pattern and server; past a model version's first 10,000 rows, which inferq "
        "samples for the version's drift reference at a higher cost (steady state is measured)",
    )
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


class InferqRound(NamedTuple):
    """What one inferq service measured."""

    submit_poll: Measure
    one_request: Measure
    v2: Measure
    many: Measure


def measure_inferq(
    base: Path, model: object, load: Load, big: Load, one_request_first: bool = False
) -> InferqRound:
    """Submit-and-poll, one-request, one-row and many-row v2 infer (issue 19) on a `make run`
    inferq, then stop it. The two job patterns run in the order asked, so that two rounds in
    opposite orders cancel the host's drift between them."""
    service = LaunchedService(base)
    try:
        url = service.start()
        service.upload_model(MODEL, model)
        jobs = [
            ("submit_poll", "inferq submit-and-poll", "submit-poll"),
            ("one_request", "inferq one-request", "one-request"),
        ]
        measured = {
            field: measure_pattern(name, url, service.key, protocol, load)
            for field, name, protocol in (reversed(jobs) if one_request_first else jobs)
        }
        v2 = measure_pattern("inferq v2 infer", url, service.key, "v2-infer", load)
        before = service.cpu_seconds()
        many = measure_pattern("inferq many-row v2 infer", url, service.key, "v2-infer", big)
        print_cpu_per_request(before, service.cpu_seconds(), big)
    finally:
        service.stop()
    measures = InferqRound(measured["submit_poll"], measured["one_request"], v2, many)
    print(*(measure.line() for measure in measures), sep="\n", flush=True)
    return measures


class PeerServer:
    """MLServer from its own venv, serving the bench's model, one `parallel_workers` setting
    at a time."""

    def __init__(self, base: Path, model: object, args: argparse.Namespace) -> None:
        self.base = base
        self.args = args
        self.command = ensure_venv(args.peer_venv)
        batching = Batching(args.max_batch_size, args.max_batch_time)
        write_repository(base, MODEL, model, batching)
        print(
            f"MLServer {MLSERVER_VERSION}: adaptive batching {batching}, "
            f"OMP_NUM_THREADS={args.peer_threads or 'default'}, access logs off",
            flush=True,
        )

    def measure(self, workers: int, loads: dict[str, Load]) -> dict[str, Measure]:
        """One-row (`one`) and/or many-row (`many`) v2 infer on one setting."""
        peer = MLServerPeer(self.command, self.base, MODEL, workers, self.args.peer_threads)
        try:
            url = peer.start()
            name = f"MLServer (parallel_workers={workers})"
            titles = {"one": name, "many": f"{name}, many-row"}
            measures = {
                kind: measure_pattern(titles[kind], url, "", "v2-infer", load)
                for kind, load in loads.items()
            }
        finally:
            peer.stop()
        print(*(measure.line() for measure in measures.values()), sep="\n", flush=True)
        return measures


def best_setting(tried: dict[int, dict[str, Measure]], kind: str) -> int:
    """The `parallel_workers` setting whose `kind` measure is the `best`."""
    top = best([measures[kind] for measures in tried.values()])
    return next(workers for workers, measures in tried.items() if measures[kind] is top)


def main() -> None:
    """Run the benchmark; print the measures and the ratios of the targets table.

    With the peer, the order is: MLServer once per `parallel_workers` setting (to find its best),
    inferq, MLServer's best setting again, inferq again. The ratios divide the mean of inferq's
    two rounds by that second peer measure: the best of several tries of a noisy rate is biased
    up, and a host whose speed drifts within a run favours whichever server ran first; the
    A-B-A order cancels a steady drift, and the peer keeps its best setting.
    """
    args = parse_args()
    model, rows = train_model()
    load, big = make_load(rows, args), make_big_load(rows, args)
    before = in_process_rows_per_second(model, rows.iloc[:2000])
    print(f"in-process predict per row: {before:,.0f} rows/s", flush=True)
    many_rows = in_process_many_rows(model, rows, args.big_rows)
    print(f"in-process predict of {args.big_rows:,} rows: {many_rows:,.0f} rows/s", flush=True)
    with tempfile.TemporaryDirectory(prefix="inferq-bench-peers-") as tmp:
        if args.skip_peer:
            rounds = [measure_inferq(Path(tmp) / "inferq", model, load, big)]
        else:
            server = PeerServer(Path(tmp) / "mlserver", model, args)  # installed before any run
            tried = {
                workers: server.measure(workers, {"one": load, "many": big})
                for workers in (int(value) for value in args.parallel_workers.split(","))
            }
            one_setting, many_setting = best_setting(tried, "one"), best_setting(tried, "many")
            print(f"MLServer's best settings: {one_setting} (one row), {many_setting} (many rows)")
            rounds = [measure_inferq(Path(tmp) / "inferq-1", model, load, big)]
            again = server.measure(one_setting, {"one": load, "many": big})
            if many_setting != one_setting:
                again.update(server.measure(many_setting, {"many": big}))
            rounds.append(
                measure_inferq(Path(tmp) / "inferq-2", model, load, big, one_request_first=True)
            )
    after = in_process_rows_per_second(model, rows.iloc[:2000])
    baseline = max(before, after)
    print(f"in-process predict per row, again after the servers: {after:,.0f} rows/s")
    submit_poll, one_request, v2, many = (
        mean_measure(list(measures)) for measures in zip(*rounds, strict=True)
    )
    print(f"\n{args.jobs:,} jobs per loaded run, {args.concurrency} connections", end="")
    print(f"; inferq's means over {len(rounds)} rounds:" if len(rounds) > 1 else ":")
    print(*(measure.line() for measure in (submit_poll, one_request, v2, many)), sep="\n")
    if args.skip_peer:
        print(
            f"submit-and-poll / one-request: {submit_poll.per_second / one_request.per_second:.2f}x"
        )
        return
    peer, peer_many = again["one"], again["many"]
    print(f"MLServer's best setting, measured again between inferq's rounds: {peer.name}")
    for target in peer_targets(submit_poll, one_request, baseline, peer):
        print(target.line())
    for target in v2_targets(v2, peer):
        print(target.line())
    print(f"MLServer's best setting for {args.big_rows:,}-row requests: {peer_many.name}")
    for target in big_v2_targets(many, peer_many):
        print(target.line())


if __name__ == "__main__":
    main()
