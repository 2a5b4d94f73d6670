"""Per-row contributions: every supported kind sums to the model's raw margin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.ensemble import (
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from models.formats import LoadOptions, load_model
from models.formats.base import ContributionsUnsupported
from models.formats.sklearn_contrib import raw_margin
from models.formats.sklearn_model import SklearnModel
from tests.format_fixtures import (
    FEATURES,
    binary_target,
    lightgbm_booster,
    onnx_classifier,
    rows,
    three_classes,
    xgboost_booster,
)
from workers.scoring import score_frame


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
