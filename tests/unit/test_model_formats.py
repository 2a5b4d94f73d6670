"""Each model format loads from bytes and scores through the same runtime interface."""

from __future__ import annotations

import numpy as np
import pytest

from models.formats import FormatError, LoadOptions, load_model
from tests.format_fixtures import (
    FEATURES,
    lightgbm_booster,
    onnx_classifier,
    onnx_per_feature_regressor,
    rows,
    xgboost_booster,
)


@pytest.mark.parametrize("raw_format", ["json", "ubj"])
def test_an_xgboost_binary_booster_scores_like_xgboost_from_json_and_ubj(raw_format: str) -> None:
    """The booster's features and objective give the schema; probabilities are its own."""
    booster = xgboost_booster("binary:logistic")
    runtime = load_model(bytes(booster.save_raw(raw_format)), "xgboost", LoadOptions())
    schema = runtime.describe({})
    assert schema.feature_names == FEATURES and schema.task == "classification"
    assert schema.classes == [0, 1] and schema.contributions == "tree"
    frame = rows(30, seed=1)
    expected = booster.inplace_predict(frame)
    np.testing.assert_allclose(runtime.predict_proba(frame)[:, 1], expected, rtol=1e-6)
    assert runtime.predict(frame).tolist() == (expected > 0.5).astype(int).tolist()


def test_xgboost_classes_come_from_the_uploader_when_the_model_has_none() -> None:
    """A multiclass booster's labels are the `classes` given, in the model's order."""
    booster = xgboost_booster("multi:softprob")
    options = LoadOptions(classes=["low", "mid", "high"])
    runtime = load_model(bytes(booster.save_raw("json")), "xgboost", options)
    assert runtime.describe({}).classes == ["low", "mid", "high"]
    frame = rows(20, seed=2)
    proba = booster.inplace_predict(frame)
    np.testing.assert_allclose(runtime.predict_proba(frame), proba, rtol=1e-5)
    labels = np.array(["low", "mid", "high"])[proba.argmax(axis=1)]
    assert runtime.predict(frame).tolist() == labels.tolist()


def test_an_xgboost_regressor_predicts_values() -> None:
    """A regression objective gives a regression schema and the booster's values."""
    booster = xgboost_booster("reg:squarederror")
    runtime = load_model(bytes(booster.save_raw("ubj")), "xgboost", LoadOptions())
    assert runtime.describe({}).task == "regression" and runtime.describe({}).classes is None
    frame = rows(10, seed=3)
    np.testing.assert_allclose(runtime.predict(frame), booster.inplace_predict(frame), rtol=1e-6)


@pytest.mark.parametrize("objective", ["binary", "multiclass", "regression"])
def test_a_lightgbm_text_model_scores_like_lightgbm(objective: str) -> None:
    """Loaded from its text, a booster predicts what LightGBM predicts."""
    booster = lightgbm_booster(objective)
    runtime = load_model(booster.model_to_string().encode(), "lightgbm", LoadOptions())
    schema = runtime.describe({})
    assert schema.feature_names == FEATURES
    frame = rows(25, seed=4)
    expected = booster.predict(frame.to_numpy())
    if objective == "regression":
        assert schema.classes is None
        np.testing.assert_allclose(runtime.predict(frame), expected)
    elif objective == "binary":
        assert schema.classes == [0, 1]
        np.testing.assert_allclose(runtime.predict_proba(frame)[:, 1], expected)
    else:
        assert schema.classes == [0, 1, 2]
        np.testing.assert_allclose(runtime.predict_proba(frame), expected)
        assert runtime.predict(frame).tolist() == expected.argmax(axis=1).tolist()


def test_feature_names_that_disagree_with_the_booster_are_refused() -> None:
    """A booster of 3 features with 2 names given: a FormatError on `feature_names`."""
    text = lightgbm_booster("binary").model_to_string().encode()
    with pytest.raises(FormatError) as caught:
        load_model(text, "lightgbm", LoadOptions(feature_names=["a", "b"]))
    assert caught.value.loc == "feature_names" and "3 features" in caught.value.msg


def test_an_unknown_objective_is_refused_naming_it() -> None:
    """A ranking booster is neither a classifier nor a regressor inferq scores."""
    booster = xgboost_booster("rank:pairwise")
    with pytest.raises(FormatError, match="rank:pairwise"):
        load_model(bytes(booster.save_raw("json")), "xgboost", LoadOptions())


@pytest.mark.parametrize("zipmap", [True, False])
def test_an_onnx_classifier_gives_labels_and_probabilities_with_or_without_zipmap(
    zipmap: bool,
) -> None:
    """Labels from the label output, classes from the graph, probabilities in float32."""
    artifact, model = onnx_classifier(zipmap=zipmap)
    runtime = load_model(artifact, "onnx", LoadOptions(feature_names=FEATURES))
    schema = runtime.describe({})
    assert schema.classes == ["churn", "stay"] and schema.contributions is None
    frame = rows(40, seed=5)
    expected = model.predict_proba(frame.to_numpy())
    np.testing.assert_allclose(runtime.predict_proba(frame), expected, atol=1e-5)
    agree = runtime.predict(frame) == model.predict(frame.to_numpy())
    assert agree.mean() > 0.95  # float32 may flip a row sitting on the boundary


@pytest.mark.parametrize("zipmap", [True, False])
def test_an_onnx_classifier_of_integer_labels_names_them_from_the_graph(zipmap: bool) -> None:
    """Integer class labels (classlabels_ints / classlabels_int64s) come from the graph."""
    artifact, model = onnx_classifier(zipmap=zipmap, integer_labels=True)
    runtime = load_model(artifact, "onnx", LoadOptions(feature_names=FEATURES))
    assert runtime.describe({}).classes == [0, 1]
    frame = rows(10, seed=12)
    assert runtime.predict(frame).tolist() == model.predict(frame.to_numpy()).tolist()


def test_an_onnx_graph_of_one_tensor_needs_feature_names() -> None:
    """One `[N, 3]` input without names is refused on `feature_names`; a count mismatch too."""
    artifact, _ = onnx_classifier()
    for given in ([], ["a", "b"]):
        with pytest.raises(FormatError) as caught:
            load_model(artifact, "onnx", LoadOptions(feature_names=given))
        assert caught.value.loc == "feature_names"


def test_an_onnx_graph_of_one_tensor_per_feature_names_its_features() -> None:
    """Per-feature inputs name the features; the regressor's value output is the prediction."""
    artifact, model = onnx_per_feature_regressor()
    runtime = load_model(artifact, "onnx", LoadOptions())
    schema = runtime.describe({})
    assert schema.feature_names == FEATURES and schema.task == "regression"
    frame = rows(12, seed=6)
    np.testing.assert_allclose(runtime.predict(frame), model.predict(frame), rtol=1e-5)
    np.testing.assert_allclose(runtime.predict(frame.to_numpy()), model.predict(frame), rtol=1e-5)
