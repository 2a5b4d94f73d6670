"""Scoring frames and describing models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from models.schema import describe
from workers.array_input import ArrayInput, fast_input
from workers.scoring import output_columns, predict_columns, score_frame


def _categorical_model() -> tuple[object, pd.DataFrame]:
    frame = pd.DataFrame({"plan": ["a", "b", "a", "b"] * 5, "age": np.arange(20.0)})
    target = ["yes", "no", "yes", "no"] * 5
    encoder = make_column_transformer((OneHotEncoder(), ["plan"]), remainder="passthrough")
    return make_pipeline(encoder, LogisticRegression()).fit(frame, target), frame


def test_describe_reads_features_kinds_and_classes() -> None:
    """Encoded columns are strings, the rest numbers; classes come from the estimator."""
    model, _ = _categorical_model()
    schema = describe(model)
    assert [(f.name, f.type) for f in schema.features] == [("plan", "string"), ("age", "number")]
    assert schema.task == "classification" and schema.classes == ["no", "yes"]


def test_score_frame_matches_direct_calls_in_small_batches() -> None:
    """Batching inside a job changes nothing: same predictions and probabilities, same order."""
    model, frame = _categorical_model()
    schema = describe(model)
    rows = frame.assign(id=range(len(frame)))
    scored = score_frame(model, schema, rows, ["prediction", "probabilities"], ["id"], batch_rows=3)
    assert list(scored.columns) == ["id", "prediction", "proba_no", "proba_yes"]
    assert scored["id"].tolist() == list(range(20))
    assert scored["prediction"].tolist() == model.predict(frame).tolist()
    np.testing.assert_allclose(scored[["proba_no", "proba_yes"]], model.predict_proba(frame))


def test_output_columns_skip_probabilities_for_regressors() -> None:
    """A regressor has no classes, so no proba_ columns."""
    from sklearn.linear_model import Ridge

    schema = describe(Ridge().fit(pd.DataFrame({"x": [1.0, 2.0]}), [1.0, 2.0]))
    assert output_columns(schema, ["prediction", "probabilities"], []) == ["prediction"]


def test_score_frame_of_no_rows_has_the_output_columns() -> None:
    """A chunk whose every row was bad scores to an empty table with the right columns."""
    model, frame = _categorical_model()
    rows = frame.iloc[:0].assign(id=[])
    scored = score_frame(model, describe(model), rows, ["prediction", "probabilities"], ["id"])
    assert list(scored.columns) == ["id", "prediction", "proba_no", "proba_yes"]
    assert len(scored) == 0


def test_score_frame_stops_at_the_slice_keep_going_refuses() -> None:
    """Asked before each slice, `keep_going` ends the scoring there: the leading rows remain."""
    model, frame = _categorical_model()
    asked: list[int] = []

    def keep_going(rows_scored: int) -> bool:
        asked.append(rows_scored)
        return rows_scored < 6

    scored = score_frame(
        model, describe(model), frame, ["prediction"], [], batch_rows=3, keep_going=keep_going
    )
    assert asked == [0, 3, 6]
    assert scored["prediction"].tolist() == model.predict(frame.iloc[:6]).tolist()


# The worker ignores this warning process-wide (workers/array_input.py); pytest resets filters.
@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_predict_columns_on_arrays_equal_the_frame_path() -> None:
    """A numeric model scored on arrays (no pandas) gives what its DataFrame path gives."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
    model = LogisticRegression().fit(frame, (frame["a"] > 0).map({True: "hi", False: "lo"}))
    schema = describe(model)
    adapter = fast_input(model, schema)
    assert isinstance(adapter, ArrayInput)
    values = frame.to_numpy().tolist()
    outputs = ["prediction", "probabilities"]
    on_arrays = predict_columns(adapter, schema, values, outputs, batch_rows=7)
    on_frames = predict_columns(model, schema, values, outputs, batch_rows=7)
    assert list(on_arrays) == ["prediction", "proba_hi", "proba_lo"] == list(on_frames)
    assert on_arrays["prediction"] == on_frames["prediction"] == model.predict(frame).tolist()
    # The same numbers up to BLAS rounding (a C-ordered array against a frame's F-ordered one).
    np.testing.assert_allclose(on_arrays["proba_hi"], on_frames["proba_hi"], rtol=1e-12)
    np.testing.assert_allclose(on_arrays["proba_lo"], model.predict_proba(frame)[:, 1], rtol=1e-12)
    assert predict_columns(adapter, schema, [], outputs) == dict.fromkeys(on_arrays, [])
