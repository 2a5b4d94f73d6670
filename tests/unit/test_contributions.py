"""Per-row contributions, exact and approximate: every supported kind sums to its raw margin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightgbm as lgb
import numpy as np
import orjson
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from inferq.jobs.record import JobRecord
from inferq.json_rows import MatrixRows, Rows
from models.formats import LoadOptions, load_model
from models.formats.base import ContributionsUnsupported
from models.formats.sklearn_contrib import raw_margin
from models.formats.sklearn_model import SklearnModel
from models.registry import ModelVersion
from tests.format_fixtures import (
    FEATURES,
    binary_target,
    lightgbm_booster,
    onnx_classifier,
    rows,
    three_classes,
    xgboost_booster,
)
from workers.batching import score_jobs_together
from workers.model_cache import LoadedModel
from workers.scoring import score_frame

CONTRIBUTION_COLUMNS = [f"contrib_{name}" for name in [*FEATURES, "bias"]]


def assert_sums_to_margin(contributions: np.ndarray, margin: np.ndarray) -> None:
    """Each row's (and class's) contributions add up to its raw margin, within 1e-6 relative.

    The absolute floor of 1e-6 covers margins near zero, where a relative bound means nothing.
    """
    totals = contributions.sum(axis=-1)
    assert totals.shape == np.shape(margin)
    np.testing.assert_allclose(totals, margin, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("objective", "shape"),
    [("binary:logistic", (50, 4)), ("multi:softprob", (50, 3, 4)), ("reg:squarederror", (50, 4))],
)
def test_xgboost_contributions_sum_to_the_margin(objective: str, shape: tuple[int, ...]) -> None:
    """`pred_contribs`: one column per feature plus the bias, per class for multiclass."""
    runtime = load_model(
        bytes(xgboost_booster(objective).save_raw("json")), "xgboost", LoadOptions()
    )
    frame = rows(50, seed=7)
    found = runtime.contributions(frame)
    assert found.shape == shape
    assert_sums_to_margin(found.astype(np.float64), runtime.margin(frame).astype(np.float64))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("objective", "shape"),
    [("binary", (50, 4)), ("multiclass", (50, 3, 4)), ("regression", (50, 4))],
)
def test_lightgbm_contributions_sum_to_the_raw_score(
    objective: str, shape: tuple[int, ...]
) -> None:
    """`pred_contrib`, reshaped per class for multiclass."""
    booster = lightgbm_booster(objective)
    runtime = load_model(booster.model_to_string().encode(), "lightgbm", LoadOptions())
    frame = rows(50, seed=8)
    found = runtime.contributions(frame)
    assert found.shape == shape
    assert_sums_to_margin(found, booster.predict(frame.to_numpy(), raw_score=True))


def _fit(model: Any, target: Callable[[pd.DataFrame], Any]) -> Any:
    frame = rows(150, seed=9)
    return model.fit(frame, target(frame))


SKLEARN_KINDS = {
    "random_forest_binary": (
        lambda: RandomForestClassifier(n_estimators=5, random_state=0),
        binary_target,
        "tree",
    ),
    "random_forest_multiclass": (
        lambda: RandomForestClassifier(n_estimators=5, random_state=0),
        three_classes,
        "tree",
    ),
    "extra_trees_regressor": (
        lambda: ExtraTreesRegressor(n_estimators=5, random_state=0),
        lambda f: f["visits"],
        "tree",
    ),
    "gradient_boosting_binary": (
        lambda: GradientBoostingClassifier(n_estimators=5),
        binary_target,
        "tree",
    ),
    "hist_gradient_boosting_multiclass": (
        lambda: HistGradientBoostingClassifier(max_iter=5),
        three_classes,
        "tree",
    ),
    "logistic_binary": (LogisticRegression, binary_target, "linear"),
    "logistic_multiclass_scaled": (
        lambda: make_pipeline(StandardScaler(), LogisticRegression()),
        three_classes,
        "linear",
    ),
    "ridge": (Ridge, lambda f: f["visits"], "linear"),
    "xgboost_sklearn_wrapper": (
        lambda: xgb.XGBClassifier(n_estimators=5, n_jobs=1),
        three_classes,
        "tree",
    ),
    "lightgbm_sklearn_wrapper": (
        lambda: lgb.LGBMClassifier(n_estimators=5, verbose=-1, n_jobs=1),
        binary_target,
        "tree",
    ),
}


@pytest.mark.parametrize("kind", list(SKLEARN_KINDS))
def test_scikit_learn_contributions_sum_to_the_raw_margin(kind: str) -> None:
    """Trees through shap or the booster, linear models exactly (coef × x, intercept as bias)."""
    make, target, expected_kind = SKLEARN_KINDS[kind]
    model = _fit(make(), target)
    runtime = SklearnModel(model, LoadOptions())
    assert runtime.describe({}).contributions == expected_kind
    frame = rows(40, seed=10)
    found = runtime.contributions(frame)
    assert found.shape[-1] == len(FEATURES) + 1
    assert_sums_to_margin(found, raw_margin(model, frame))


def test_models_of_other_kinds_have_no_contributions_and_say_which_kinds_do() -> None:
    """An SVC and an ONNX graph raise ContributionsUnsupported naming the supported kinds."""
    svc = SklearnModel(_fit(SVC(), binary_target), LoadOptions())
    assert svc.describe({}).contributions is None
    onnx_runtime = load_model(onnx_classifier()[0], "onnx", LoadOptions(feature_names=FEATURES))
    for runtime in (svc, onnx_runtime):
        with pytest.raises(ContributionsUnsupported, match="LightGBM and XGBoost"):
            runtime.contributions(rows(3))


def test_contribution_columns_are_named_per_feature_and_per_class() -> None:
    """Binary: `contrib_<feature>` + `contrib_bias`; multiclass: `contrib_<class>_<feature>`."""
    frame = rows(6, seed=11)
    binary = SklearnModel(_fit(LogisticRegression(), binary_target), LoadOptions())
    scored = score_frame(binary, binary.describe({}), frame, ["prediction", "contributions"], [])
    assert list(scored.columns) == [
        "prediction",
        *[f"contrib_{n}" for n in FEATURES],
        "contrib_bias",
    ]
    multi = SklearnModel(_fit(LogisticRegression(), three_classes), LoadOptions())
    scored = score_frame(multi, multi.describe({}), frame, ["contributions"], [], batch_rows=4)
    expected = [f"contrib_{c}_{n}" for c in (0, 1, 2) for n in [*FEATURES, "bias"]]
    assert list(scored.columns) == expected
    margin = multi.estimator.decision_function(frame)
    for label in (0, 1, 2):
        columns = [f"contrib_{label}_{n}" for n in [*FEATURES, "bias"]]
        np.testing.assert_allclose(scored[columns].sum(axis=1), margin[:, label], rtol=1e-9)


def _interactions(frame: pd.DataFrame) -> np.ndarray:
    """0/1 from a product of two features: no additive model explains it."""
    return (frame["tenure"] * frame["spend"] > 0).astype(int).to_numpy()


@pytest.mark.parametrize(
    ("objective", "shape"),
    [("binary", (60, 4)), ("multiclass", (60, 3, 4)), ("regression", (60, 4))],
)
def test_approximate_lightgbm_contributions_sum_to_the_raw_score_with_the_exact_bias(
    objective: str, shape: tuple[int, ...]
) -> None:
    """Saabas path attributions: same shape, same sum, and the bias TreeSHAP gives too."""
    booster = lightgbm_booster(objective)
    runtime = load_model(booster.model_to_string().encode(), "lightgbm", LoadOptions())
    frame = rows(60, seed=12)
    approximate = runtime.contributions(frame, "approximate")
    assert approximate.shape == shape
    assert_sums_to_margin(approximate, booster.predict(frame.to_numpy(), raw_score=True))
    exact = runtime.contributions(frame)
    np.testing.assert_allclose(approximate[..., -1], exact[..., -1], rtol=1e-9)


def test_approximate_lightgbm_paths_follow_categorical_splits_and_missing_values() -> None:
    """A booster with a categorical feature and missing values: each row's attributions sum
    to its raw score, because LightGBM itself picks the leaf each row reaches."""
    frame = rows(400, seed=13)
    frame["visits"] = np.random.default_rng(13).integers(0, 6, size=len(frame)).astype(float)
    frame.loc[frame.index[::7], "tenure"] = np.nan
    target = ((frame["spend"] > 0) ^ frame["visits"].isin([1.0, 4.0])).astype(int)
    params = {"objective": "binary", "verbose": -1, "num_threads": 1, "min_data_per_group": 5}
    data = lgb.Dataset(frame, label=target, categorical_feature=["visits"])
    booster = lgb.train(params, data, num_boost_round=10)
    assert any(tree["num_cat"] for tree in booster.dump_model()["tree_info"])
    runtime = load_model(booster.model_to_string().encode(), "lightgbm", LoadOptions())
    found = runtime.contributions(frame, "approximate")
    assert_sums_to_margin(found, booster.predict(frame.to_numpy(), raw_score=True))


@pytest.mark.parametrize(
    ("objective", "shape"),
    [("binary:logistic", (50, 4)), ("multi:softprob", (50, 3, 4)), ("reg:squarederror", (50, 4))],
)
def test_approximate_xgboost_contributions_sum_to_the_margin(
    objective: str, shape: tuple[int, ...]
) -> None:
    """`approx_contribs`: XGBoost's own path attributions, shaped like the exact ones."""
    runtime = load_model(
        bytes(xgboost_booster(objective).save_raw("json")), "xgboost", LoadOptions()
    )
    frame = rows(50, seed=14)
    found = runtime.contributions(frame, "approximate")
    assert found.shape == shape
    assert_sums_to_margin(found.astype(np.float64), runtime.margin(frame).astype(np.float64))  # type: ignore[attr-defined]


APPROXIMATE_SKLEARN_KINDS = {
    **SKLEARN_KINDS,
    "random_forest_regressor": (
        lambda: RandomForestRegressor(n_estimators=5, random_state=0),
        lambda f: f["visits"],
        "tree",
    ),
    "extra_trees_classifier": (
        lambda: ExtraTreesClassifier(n_estimators=5, random_state=0),
        binary_target,
        "tree",
    ),
    "gradient_boosting_regressor": (
        lambda: GradientBoostingRegressor(n_estimators=5),
        lambda f: f["visits"],
        "tree",
    ),
    "hist_gradient_boosting_binary": (
        lambda: HistGradientBoostingClassifier(max_iter=5),
        binary_target,
        "tree",
    ),
    "hist_gradient_boosting_regressor": (
        lambda: HistGradientBoostingRegressor(max_iter=5),
        lambda f: f["visits"],
        "tree",
    ),
    "lightgbm_sklearn_wrapper_multiclass": (
        lambda: lgb.LGBMClassifier(n_estimators=5, verbose=-1, n_jobs=1, min_child_samples=5),
        three_classes,
        "tree",
    ),
}


@pytest.mark.parametrize("kind", list(APPROXIMATE_SKLEARN_KINDS))
def test_approximate_scikit_learn_contributions_sum_to_the_raw_margin(kind: str) -> None:
    """shap's Saabas for trees, the boosters' own for wrapped XGBoost and LightGBM; linear
    models give their exact contributions."""
    make, target, expected_kind = APPROXIMATE_SKLEARN_KINDS[kind]
    model = _fit(make(), target)
    runtime = SklearnModel(model, LoadOptions())
    frame = rows(40, seed=15)
    found = runtime.contributions(frame, "approximate")
    assert found.shape == runtime.contributions(frame).shape
    assert_sums_to_margin(found, raw_margin(model, frame))
    if expected_kind == "linear":
        np.testing.assert_array_equal(found, runtime.contributions(frame))


def _native(kind: str) -> Any:
    frame = rows(300, seed=16)
    if kind == "lightgbm":
        params = {"objective": "binary", "verbose": -1, "num_threads": 1}
        booster = lgb.train(params, lgb.Dataset(frame, label=_interactions(frame)), 20)
        return load_model(booster.model_to_string().encode(), "lightgbm", LoadOptions())
    if kind == "xgboost":
        params = {"objective": "binary:logistic", "max_depth": 3, "nthread": 1}
        booster = xgb.train(params, xgb.DMatrix(frame, label=_interactions(frame)), 20)
        return load_model(bytes(booster.save_raw("json")), "xgboost", LoadOptions())
    model = GradientBoostingClassifier(n_estimators=20).fit(frame, _interactions(frame))
    return SklearnModel(model, LoadOptions())


@pytest.mark.parametrize("kind", ["lightgbm", "xgboost", "scikit-learn"])
def test_approximate_contributions_differ_from_exact_ones_on_a_model_with_interactions(
    kind: str,
) -> None:
    """Same rows, same sums, other attributions: the method asked for is the one computed."""
    runtime = _native(kind)
    frame = rows(50, seed=17)
    exact = np.asarray(runtime.contributions(frame, "exact"), dtype=np.float64)
    approximate = np.asarray(runtime.contributions(frame, "approximate"), dtype=np.float64)
    np.testing.assert_allclose(approximate.sum(axis=-1), exact.sum(axis=-1), rtol=1e-5, atol=1e-5)
    assert np.abs(approximate[:, :-1] - exact[:, :-1]).max() > 0.01


def test_a_batch_scores_each_job_with_the_contributions_method_it_asked_for() -> None:
    """Exact and approximate jobs of one LightGBM version in one batch: each job's columns are
    those its own method gives, in its own predict calls."""
    runtime = _native("lightgbm")
    schema = runtime.describe({})
    loaded = LoadedModel(ModelVersion("m", 1, "lightgbm", "k", schema, "0" * 64, 0, ""), runtime)
    frames = {"exact": rows(6, seed=18), "approximate": rows(4, seed=19), "none": rows(3)}
    inputs: dict[str, Rows | MatrixRows] = {
        job_id: Rows(FEATURES, frame.to_numpy().tolist()) for job_id, frame in frames.items()
    }
    jobs = [
        JobRecord(
            id=job_id,
            tenant="t",
            model_name="m",
            model_version=1,
            created_at="",
            outputs=["prediction"] if job_id == "none" else ["contributions"],
            contributions_method=None if job_id == "none" else job_id,  # type: ignore[arg-type]
        )
        for job_id in frames
    ]
    outcomes = {o.job_id: o for o in score_jobs_together(loaded, jobs, inputs, 1000)}
    assert all(outcome.error is None for outcome in outcomes.values())
    for method in ("exact", "approximate"):
        table = orjson.loads(outcomes[method].result)
        assert table["columns"] == CONTRIBUTION_COLUMNS
        expected = runtime.contributions(frames[method], method)  # type: ignore[arg-type]
        np.testing.assert_allclose(np.array(table["data"]), expected, rtol=1e-12)
    assert orjson.loads(outcomes["none"].result)["columns"] == ["prediction"]
