"""Bulk CSV benchmark: inferq end to end against one in-process Python baseline, same run.

    python bench/bulk_csv.py                    # 1,000,000 rows, both models, ratios printed
    python bench/bulk_csv.py --rows 200000 --repeat 1   # a quicker look
    python bench/bulk_csv.py --memory           # peak RSS at 100,000 vs 10,000,000 rows

The data: `--rows` rows of 20 float features (4 decimals) plus an `id`; a
HistGradientBoostingClassifier and a LogisticRegression trained on a sample of it.
(a) baseline: one process reads the CSV with pyarrow, calls predict_proba and writes the scored
CSV with pyarrow, libraries threading as they do by default.
(b) inferq: a real stack (Redis, one Celery worker with a process per core, uvicorn); time from
upload start to job succeeded, and to the scored CSV fully downloaded.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.artifacts import dump_skops, untrusted_types  # noqa: E402 - after the path fix
from models.registry import ModelRegistry  # noqa: E402
from models.schema import describe  # noqa: E402
from tests.stack import Stack  # noqa: E402 - the same real parts the tests start

FEATURES = [f"f{i:02d}" for i in range(20)]
TARGETS = {"hist_gradient_boosting": 0.8, "logistic_regression": 0.5}


def make_csv(path: Path, rows: int, seed: int = 0) -> None:
    """Write `rows` rows of an id and 20 float features, 1M rows at a time."""
    rng = np.random.default_rng(seed)
    with pacsv.CSVWriter(path, _schema()) as writer:
        for start in range(0, rows, 1_000_000):
            count = min(1_000_000, rows - start)
            values = np.round(rng.normal(size=(count, 20)), 4)
            ids = pa.array([f"id-{start + i}" for i in range(count)])
            writer.write_table(pa.table([ids, *values.T], schema=_schema()))


def _schema() -> pa.Schema:
    return pa.schema([("id", pa.string()), *[(name, pa.float64()) for name in FEATURES]])


def train_models(path: Path) -> dict[str, object]:
    """Both models, fitted on the first 50,000 rows against a made-up nonlinear target."""
    sample = pacsv.read_csv(path).slice(0, 50_000).to_pandas()
    features = sample[FEATURES]
    target = (features["f00"] * features["f01"] + np.sin(features["f02"]) > 0).astype(int)
    return {
        "hist_gradient_boosting": HistGradientBoostingClassifier(max_iter=100).fit(
            features, target
        ),
        "logistic_regression": LogisticRegression(max_iter=500).fit(features, target),
    }


def baseline(path: Path, model: object, out: Path) -> float:
    """Seconds one process takes to read, predict_proba and write the scored CSV."""
    start = time.perf_counter()
    table = pacsv.read_csv(path)
    proba = model.predict_proba(table.select(FEATURES).to_pandas())  # type: ignore[attr-defined]
    columns = [table.column("id"), *[pa.array(proba[:, i]) for i in range(proba.shape[1])]]
    names = ["id", *[f"proba_{label}" for label in model.classes_]]  # type: ignore[attr-defined]
    pacsv.write_csv(pa.table(columns, names=names), out)
    return time.perf_counter() - start


def start_stack(base: Path, models: dict[str, object], **settings: str) -> Stack:
    """A real inferq with the models registered and the given INFERQ_ settings."""
    stack = Stack(base, demo_models="false", **settings)
    stack.start_redis()
    registry = ModelRegistry(stack.redis(), _storage(stack))
    for name, model in models.items():
        artifact = dump_skops(model)
        registry.register(
            name, artifact, "skops", describe(model), trusted_types=untrusted_types(artifact)
        )
    stack.start_worker(concurrency=os.cpu_count() or 2)
    stack.start_api()
    return stack


def _storage(stack: Stack) -> object:
    from inferq.storage import Storage

    return Storage.from_settings(stack.settings)  # sealed when the stack encrypts


def inferq_run(stack: Stack, path: Path, name: str, out: Path) -> tuple[float, float, dict]:
    """(seconds to succeeded, seconds to downloaded, job) from the start of the upload."""
    with stack.client(timeout=600) as client:
        start = time.perf_counter()
        with path.open("rb") as handle:
            response = client.post(
                "/v1/jobs",
                params={"model": name, "passthrough": "id", "outputs": "probabilities"},
                content=iter(lambda: handle.read(1024 * 1024), b""),
                headers={"content-type": "text/csv"},
            )
        response.raise_for_status()
        job_id = response.json()["id"]
        job = client.get(f"/v1/jobs/{job_id}", params={"wait": 60}).json()
        while job["status"] in ("queued", "running"):
            job = client.get(f"/v1/jobs/{job_id}", params={"wait": 60}).json()
        succeeded = time.perf_counter() - start
        url = f"/v1/jobs/{job_id}/results"
        with client.stream("GET", url, params={"format": "csv"}) as r, out.open("wb") as sink:
            for piece in r.iter_bytes(1024 * 1024):
                sink.write(piece)
        downloaded = time.perf_counter() - start
    return succeeded, downloaded, job


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stack_pids(stack: Stack) -> dict[str, int]:
    """The API, the worker's main process and its pool processes, by name."""
    assert stack.api is not None and stack.api.pid is not None
    main = stack.workers[0].pid
    assert main is not None
    pids = {"api": stack.api.pid, "worker main": main}
    for number, child in enumerate(children_of(main)):
        pids[f"pool {number}"] = child
    return pids


def measured_run(stack: Stack, path: Path, name: str, out: Path) -> tuple[float, float, dict, str]:
    """`inferq_run` plus the CPU seconds each process (and this client) spent on it."""
    pids = stack_pids(stack)
    before = {label: cpu_seconds(pid) for label, pid in pids.items()}
    client = time.process_time()
    done, downloaded, job = inferq_run(stack, path, name, out)
    spent = {"client": time.process_time() - client}
    spent |= {label: cpu_seconds(pid) - before[label] for label, pid in pids.items()}
    return done, downloaded, job, ", ".join(f"{k} {v:.2f}" for k, v in spent.items())


def speed(rows: int, work: Path, chunk_bytes: int | None, repeat: int) -> None:
    """Part (a) and (b) for both models, with the ratios of rows per second.

    Each measurement is taken `repeat` times, baseline and inferq alternating, and the best of
    each is kept: the machine is shared, and the best time is the least disturbed one.
    """
    path = work / "input.csv"
    make_csv(path, rows)
    print(f"input: {rows:,} rows, {path.stat().st_size / 1e6:.0f} MB; best of {repeat}")
    models = train_models(path)
    settings = {"file_chunk_bytes": str(chunk_bytes)} if chunk_bytes else {}
    stack = start_stack(work / "stack", models, **settings)
    try:
        for name, model in models.items():
            bases, runs = [], []
            for _ in range(repeat):
                base_cpu = time.process_time()
                bases.append(baseline(path, model, work / "baseline.csv"))
                base_cpu = time.process_time() - base_cpu
                done, downloaded, job, cpu = measured_run(stack, path, name, work / "scored.csv")
                assert job["status"] == "succeeded", job
                assert job["progress"]["rows_done"] == rows, job
                runs.append((downloaded, done))
                print(
                    f"  {name}: baseline {bases[-1]:.2f}s ({base_cpu:.2f} CPU s), inferq "
                    f"{downloaded:.2f}s (CPU s: {cpu}); load {os.getloadavg()[0]:.1f}"
                )
            base, (downloaded, done) = min(bases), min(runs)
            ratio = base / downloaded
            verdict = "ok" if ratio >= TARGETS[name] else "BELOW TARGET"
            print(
                f"{name}: baseline {base:.2f}s ({rows / base:,.0f} rows/s); inferq succeeded "
                f"{done:.2f}s, downloaded {downloaded:.2f}s ({rows / downloaded:,.0f} rows/s); "
                f"ratio {ratio:.2f} (target {TARGETS[name]}) {verdict}"
            )
    finally:
        stack.stop()


def peak_rss_mb(pid: int) -> float:
    """The peak resident set size (VmHWM) of a live process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def children_of(pid: int) -> list[int]:
    """Processes whose parent is `pid` (a worker's pool processes)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if f"\nPPid:\t{pid}\n" in text:
            found.append(int(status.parent.name))
    return sorted(found)


def stack_peaks(stack: Stack) -> dict[str, float]:
    """Peak RSS of the API, the worker's main process and each of its pool processes."""
    assert stack.api is not None and stack.api.pid is not None
    peaks = {"api": peak_rss_mb(stack.api.pid)}
    main = stack.workers[0].pid
    assert main is not None
    peaks["worker main"] = peak_rss_mb(main)
    for number, child in enumerate(children_of(main)):
        peaks[f"worker process {number}"] = peak_rss_mb(child)
    return peaks


def memory(work: Path, chunk_bytes: int) -> None:
    """Peak RSS while scoring 100,000 rows and 10,000,000 rows (LogisticRegression), compared.

    Both runs use the same chunk size, small enough that the 100,000-row file (16 MB) makes
    several chunks and so keeps every worker process busy, as the big file does.
    """
    sizes = (100_000, 10_000_000)
    paths = {rows: work / f"memory-{rows}.csv" for rows in sizes}
    for rows, path in paths.items():
        if not path.exists():
            make_csv(path, rows)
    models = {"logistic_regression": train_models(paths[sizes[0]])["logistic_regression"]}
    peaks = {}
    print(f"chunk size {chunk_bytes:,} bytes")
    for rows, path in paths.items():
        stack = start_stack(work / f"stack-{rows}", models, file_chunk_bytes=str(chunk_bytes))
        try:
            done, downloaded, job = inferq_run(
                stack, path, "logistic_regression", work / "scored.csv"
            )
            assert job["progress"]["rows_done"] == rows, job
            peaks[rows] = stack_peaks(stack)
            print(f"{rows:,} rows: succeeded {done:.1f}s, downloaded {downloaded:.1f}s")
        finally:
            stack.stop()
    for name, small in peaks[sizes[0]].items():
        big = peaks[sizes[1]].get(name, float("nan"))
        verdict = "ok" if big <= 1.25 * small else "OVER 1.25x"
        print(
            f"{name}: {small:.0f} MB at 100k rows, {big:.0f} MB at 10M "
            f"({big / small:.2f}x) {verdict}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best is kept")
    parser.add_argument("--memory", action="store_true", help="peak RSS at 100k vs 10M rows")
    parser.add_argument(
        "--chunk-bytes", type=int, default=None, help="INFERQ_FILE_CHUNK_BYTES for the stack"
    )
    parser.add_argument("--work", type=Path, default=None, help="folder for data (default: tmp)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="inferq-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.memory:
        memory(work, args.chunk_bytes or 4 * 1024 * 1024)
    else:
        speed(args.rows, work, args.chunk_bytes, args.repeat)


if __name__ == "__main__":
    main()
