"""A batch mixing sync requests' matrices with JSON jobs' rows scores each as it would alone."""

from __future__ import annotations

import numpy as np
import orjson

from inferq.jobs.record import JobRecord
from inferq.json_rows import MatrixRows, Rows
from models.registry import ModelVersion
from models.schema import describe
from tests.helpers import demo_rows, reference_model
from workers.array_input import fast_input
from workers.batching import score_jobs_together
from workers.model_cache import LoadedModel

OUTPUTS = ["prediction", "probabilities"]


def test_matrices_and_json_rows_share_a_predict_call_and_split_back() -> None:
    """Two matrix requests around a JSON job whose columns are in another order (with a
    passthrough column): every one gets the reference model's labels and probabilities for its
    own rows; the matrices' answers come column by column, the job's row by row."""
    model = reference_model("iris")
    schema = describe(model)
    meta = ModelVersion("iris", 1, "skops", "k", schema, "0" * 64, 0, "")
    loaded = LoadedModel(meta, fast_input(model, schema))
    frames = [demo_rows("iris", n, seed=n)[schema.feature_names] for n in (7, 5, 9)]
    names = schema.feature_names
    reordered = [*reversed(names), "id"]
    job_rows = [[*reversed(row), f"r{i}"] for i, row in enumerate(frames[1].values.tolist())]
    inputs: dict[str, Rows | MatrixRows] = {
        "m1": MatrixRows(names, frames[0].to_numpy(np.float64)),
        "job": Rows(reordered, job_rows),
        "m2": MatrixRows(names, frames[2].to_numpy(np.float64)),
    }
    jobs = [
        JobRecord(
            id=i,
            tenant="t",
            model_name="iris",
            model_version=1,
            created_at="",
            outputs=OUTPUTS,
            passthrough=["id"] if i == "job" else [],
        )
        for i in inputs
    ]
    outcomes = {o.job_id: o for o in score_jobs_together(loaded, jobs, inputs, 1000)}
    assert [outcomes[i].rows for i in inputs] == [7, 5, 9]
    assert all(o.batch_jobs == 3 and o.error is None for o in outcomes.values())
    for job_id, frame in zip(["m1", "job", "m2"], frames, strict=True):
        table = orjson.loads(outcomes[job_id].result)
        if job_id == "job":
            assert table["columns"][0] == "id"
            assert [row[0] for row in table["data"]] == [f"r{i}" for i in range(len(frame))]
            columns = [list(c) for c in zip(*table["data"], strict=True)][1:]
        else:
            assert "data" not in table
            columns = table["values"]
        assert columns[0] == model.predict(frame).tolist()
        assert np.array_equal(np.array(columns[1:]).T, model.predict_proba(frame))
