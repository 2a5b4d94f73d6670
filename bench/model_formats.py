"""Model formats benchmark (issue 18): LightGBM and ONNX bulk jobs, and contributions, in one run.

    python bench/model_formats.py                      # 1,000,000 rows
    python bench/model_formats.py --rows 200000        # a quicker look
    python bench/model_formats.py --only contributions --contrib-method approximate

The data are bulk_csv.py's: `--rows` rows of 20 float features plus an `id`.
- LightGBM (200 trees): inferq upload-to-download of `probabilities` against one process that
  reads the CSV with pyarrow, calls `Booster.predict` and writes the scored CSV (target >= 0.85x).
- ONNX (a LogisticRegression converted with skl2onnx): the same against pyarrow + an ONNX
  Runtime session (target >= 0.6x).
- One-row jobs of the same LogisticRegression as skops and as ONNX (`--one-row-jobs`): light-load
  p50 and jobs/s under load of the one-request and submit-and-poll patterns (target: ONNX's p50
  <= skops', its jobs/s >= skops').
- Contributions on the LightGBM model: the job asking `contributions` against the
  `probabilities` job on the same rows (target <= 3x the time), for each `--contrib-method`.
  `approximate` (Saabas path attributions) runs on the `--rows` rows. Exact TreeSHAP
  (`pred_contrib`) costs about 100x `predict` for this model, single-threaded: at 1,000,000 rows
  it would run for tens of minutes, so it runs on `--contrib-rows` rows (100,000 by default).

`--only` runs one part (bulk, one-row, contributions); the models are trained either way.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bulk_csv import FEATURES, _storage, make_csv  # noqa: E402 - after the path fix

from bench.measures import Load, Measure, measure_pattern  # noqa: E402
from bench.small_jobs import bodies  # noqa: E402
from models.artifacts import dump_skops  # noqa: E402
from models.formats import LoadOptions, load_model  # noqa: E402
from models.registry import ModelRegistry  # noqa: E402
from tests.stack import Stack  # noqa: E402 - the same real parts the tests start


def train(path: Path) -> dict[str, tuple[bytes, str, Any]]:
    """The LightGBM booster, the ONNX graph and the same LogisticRegression in skops, each as
    (artifact, format, in-process model)."""
    import lightgbm as lgb
    import onnxruntime as ort
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    sample = pacsv.read_csv(path).slice(0, 50_000).to_pandas()
    features = sample[FEATURES]
    target = (features["f00"] * features["f01"] + np.sin(features["f02"]) > 0).astype(int)
    params = {"objective": "binary", "verbose": -1, "num_leaves": 31}
    booster = lgb.train(params, lgb.Dataset(features, label=target), num_boost_round=200)
    logistic = LogisticRegression(max_iter=500).fit(features.to_numpy(), target)
    named = LogisticRegression(max_iter=500).fit(features, target)  # skops keeps the names
    graph = to_onnx(logistic, features.to_numpy(np.float32)[:1], options={"zipmap": False})
    session = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    return {
        "lightgbm": (booster.model_to_string().encode(), "lightgbm", booster),
        "onnx": (graph.SerializeToString(), "onnx", session),
        "logistic_skops": (dump_skops(named), "skops", named),
    }


def baseline(path: Path, fmt: str, model: Any, out: Path) -> float:
    """Seconds one process takes to read, predict probabilities and write the scored CSV."""
    start = time.perf_counter()
    table = pacsv.read_csv(path)
    values = table.select(FEATURES).to_pandas().to_numpy()
    if fmt == "lightgbm":
        positive = model.predict(values)
    else:
        positive = model.run(None, {"X": values.astype(np.float32)})[1][:, 1]
    columns = [table.column("id"), pa.array(1 - positive), pa.array(positive)]
    pacsv.write_csv(pa.table(columns, names=["id", "proba_0", "proba_1"]), out)
    return time.perf_counter() - start


def start_stack(base: Path, models: dict[str, tuple[bytes, str, Any]]) -> Stack:
    """A real inferq (one worker of a process per core) with the models registered."""
    stack = Stack(base, demo_models="false")
    stack.start_redis()
    registry = ModelRegistry(stack.redis(), _storage(stack))  # type: ignore[arg-type]
    for name, (artifact, fmt, _) in models.items():
        options = LoadOptions(feature_names=FEATURES)
        schema = load_model(artifact, fmt, options).describe({})  # type: ignore[arg-type]
        registry.register(name, artifact, fmt, schema)  # type: ignore[arg-type]
    stack.start_worker(concurrency=2)
    stack.start_api()
    return stack


def inferq_run(
    stack: Stack, path: Path, name: str, outputs: str, out: Path, method: str | None = None
) -> float:
    """Seconds from the upload's start to the scored CSV fully downloaded."""
    params = {"model": name, "passthrough": "id", "outputs": outputs}
    if method is not None:
        params["contributions_method"] = method
    with stack.client(timeout=3600) as client:
        start = time.perf_counter()
        with path.open("rb") as handle:
            response = client.post(
                "/v1/jobs",
                params=params,
                content=iter(lambda: handle.read(1024 * 1024), b""),
                headers={"content-type": "text/csv"},
            )
        response.raise_for_status()
        job_id = response.json()["id"]
        job = client.get(f"/v1/jobs/{job_id}", params={"wait": 60}).json()
        while job["status"] in ("queued", "running"):
            job = client.get(f"/v1/jobs/{job_id}", params={"wait": 60}).json()
        assert job["status"] == "succeeded", job
        url = f"/v1/jobs/{job_id}/results"
        with client.stream("GET", url, params={"format": "csv"}) as r, out.open("wb") as sink:
            for piece in r.iter_bytes(1024 * 1024):
                sink.write(piece)
        return time.perf_counter() - start


def one_row_jobs(stack: Stack, path: Path, jobs: int) -> None:
    """One-row jobs of the same LogisticRegression as skops and as ONNX, both patterns, each
    measured twice in the order skops, ONNX, ONNX, skops: the machine's speed drifts within
    minutes, and a fixed order would hand the drift to whichever format runs second."""
    rows = pacsv.read_csv(path).slice(0, 20_000).select(FEATURES).to_pandas()
    for pattern in ("one-request", "submit-poll"):
        found: dict[str, list[Measure]] = {"logistic_skops": [], "onnx": []}
        for name in ("logistic_skops", "onnx", "onnx", "logistic_skops"):
            load = Load(
                light=bodies(rows.iloc[:300], name),
                loaded=bodies(rows.iloc[np.arange(jobs) % len(rows)], name),
                warmup=bodies(rows.iloc[-300:], name),
            )
            measure = measure_pattern(
                f"{name} {pattern}", stack.api_url, stack.admin_key, pattern, load
            )
            found[name].append(measure)
            print(measure.line(), flush=True)
        skops, onnx = found["logistic_skops"], found["onnx"]
        p50 = sum(m.p50_ms for m in onnx) / sum(m.p50_ms for m in skops)
        rate = sum(m.per_second for m in onnx) / sum(m.per_second for m in skops)
        print(
            f"{pattern}: ONNX / skops p50 {p50:.2f}x (target <= 1), "
            f"jobs/s {rate:.2f}x (target >= 1), means of two runs each",
            flush=True,
        )


def contributions(stack: Stack, work: Path, path: Path, args: argparse.Namespace) -> None:
    """The LightGBM job asking `contributions` against the one asking `probabilities`."""
    methods = ("exact", "approximate") if args.contrib_method == "both" else (args.contrib_method,)
    for method in methods:
        rows, source = args.rows, path
        if method == "exact":
            rows, source = args.contrib_rows, work / "contrib.csv"
            make_csv(source, rows)
        out = work / "scored.csv"
        plain = inferq_run(stack, source, "lightgbm", "probabilities", out)
        explained = inferq_run(stack, source, "lightgbm", "contributions", out, method)
        print(
            f"contributions ({method}), {rows:,} rows: {explained:.2f}s against {plain:.2f}s "
            f"for probabilities, {explained / plain:.2f}x (target <= 3x)",
            flush=True,
        )


def main() -> None:
    """Print each measurement and its ratio against the issue's target."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--one-row-jobs", type=int, default=10_000)
    parser.add_argument("--contrib-rows", type=int, default=100_000)
    parser.add_argument(
        "--contrib-method", choices=("exact", "approximate", "both"), default="both"
    )
    parser.add_argument("--only", choices=("bulk", "one-row", "contributions"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="inferq-bench-formats-") as tmp:
        work = Path(tmp)
        path = work / "input.csv"
        make_csv(path, args.rows)
        models = train(path)
        stack = start_stack(work / "stack", models)
        try:
            if args.only in (None, "bulk"):
                for name, target in (("lightgbm", 0.85), ("onnx", 0.6)):
                    base = baseline(path, models[name][1], models[name][2], work / "base.csv")
                    took = inferq_run(stack, path, name, "probabilities", work / "scored.csv")
                    print(
                        f"{name}: baseline {base:.2f}s, inferq {took:.2f}s, "
                        f"ratio {base / took:.2f} (target >= {target})"
                    )
            if args.only in (None, "one-row"):
                one_row_jobs(stack, path, args.one_row_jobs)
            if args.only in (None, "contributions"):
                contributions(stack, work, path, args)
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
