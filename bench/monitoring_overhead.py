"""Monitoring's cost in a worker, in process: folding a batch or chunk against its reference
next to scoring it, and the Redis commands the fold adds.

    python -m bench.monitoring_overhead

Shapes as in `bench.bulk_csv` (20 float features, a HistGradientBoostingClassifier): chunks of
100,000 rows for the bulk path (a frame), batches of 1 to 64 one-row jobs for the batcher
(rows as lists). Batches' counts are added up and sent at most once a second per process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

from inferq.monitoring.reference import PREDICTION, build_reference, prediction_profile
from inferq.monitoring.serving import bucket_write, fold_counts, layout_of
from inferq.schema import Feature, ModelSchema
from workers.monitoring import batch_columns

FEATURES = [f"f{i:02d}" for i in range(20)]


class _CountingPipe:
    def __init__(self) -> None:
        self.commands = 0

    def __getattr__(self, name: str) -> Callable[..., None]:
        def command(*_: Any, **__: Any) -> None:
            self.commands += 1

        return command


def best_of(repeat: int, run: Callable[[], object]) -> float:
    """The fastest of `repeat` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(100_000, len(FEATURES))), columns=FEATURES)
    target = (frame.sum(axis=1) > 0).map({True: "yes", False: "no"})
    model = HistGradientBoostingClassifier(max_iter=50).fit(frame[:20_000], target[:20_000])
    schema = ModelSchema([Feature(n) for n in FEATURES], "classification", ["no", "yes"])
    ref = build_reference(frame[:10_000], schema, "file", 10)
    ref.prediction = prediction_profile(model.predict(frame[:10_000]), schema, 10)
    for rows in (100_000, 64, 8, 1):
        part = frame[:rows]
        values = part.to_numpy().tolist()
        predict = best_of(5, lambda p=part: model.predict(p))
        predicted = model.predict(part)

        def fold(
            v: list[list[float]] = values, p: np.ndarray = predicted, f: pd.DataFrame = part
        ) -> None:
            # A batch's rows come as lists, a chunk's as a frame; then one fold.
            columns = batch_columns(v, schema) if len(f) < 1_000 else dict(f.items())
            layout_of(ref).fold({**columns, PREDICTION: p}, len(p))

        folding = best_of(5, fold)
        pipe = _CountingPipe()
        counts = fold_counts(ref, {n: part[n].to_numpy() for n in FEATURES}, predicted)
        bucket_write("m", 1, ref.id, counts, 0, 3600)(pipe)
        print(
            f"{rows:>7} rows: predict {predict * 1e3:8.2f} ms, fold {folding * 1e3:6.2f} ms "
            f"({100 * folding / predict:5.1f}% of predict); a flush sends {pipe.commands} commands"
        )


if __name__ == "__main__":
    main()
