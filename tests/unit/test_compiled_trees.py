"""Compiled HistGradientBoosting trees give scikit-learn's own answers, bit for bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.tree import DecisionTreeClassifier
from threadpoolctl import threadpool_limits

from models.formats import LoadOptions
from models.formats.compiled_trees import THREADED_ROWS, compile_trees
from models.formats.sklearn_model import SklearnModel
from models.formats.tree_kernel import FEATURE


def data(rows: int, seed: int = 0, missing: float = 0.1) -> pd.DataFrame:
    """Numeric rows with missing values; some on a coarse grid so that rows land on thresholds."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 6))
    x[:, 3] = np.round(x[:, 3], 1)
    x[rng.random(x.shape) < missing] = np.nan
    return pd.DataFrame(x, columns=[f"f{i}" for i in range(6)])


def labels(x: pd.DataFrame, classes: int) -> np.ndarray:
    """A target with an interaction, so the trees are deep and use several features."""
    score = np.nan_to_num(x["f0"]) + np.nan_to_num(x["f1"]) * np.nan_to_num(x["f2"])
    return np.digitize(score, np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1]))


@pytest.mark.parametrize("classes", [2, 3])
def test_a_classifier_gives_the_same_probabilities_and_labels(classes: int) -> None:
    """Binary and multiclass, with missing values: equal arrays, not merely close ones."""
    x = data(4_000)
    names = np.array(["low", "mid", "high"])[:classes]
    model = HistGradientBoostingClassifier(max_iter=40, random_state=0)
    model.fit(x, names[labels(x, classes)])
    compiled = compile_trees(model)
    assert compiled is not None
    fresh = data(3_001, seed=1)  # not a multiple of the kernel's eight lanes
    values = fresh.to_numpy()
    assert np.array_equal(compiled.predict_proba(values), model.predict_proba(fresh))
    assert np.array_equal(compiled.predict(values), model.predict(fresh))
    complete = fresh.fillna(0.0)  # no missing value: the kernel's loop without NaN checks
    assert np.array_equal(
        compiled.predict_proba(complete.to_numpy()), model.predict_proba(complete)
    )


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_a_regressor_gives_the_same_values_through_its_link(loss: str) -> None:
    """The margins pass through the loss's inverse link as scikit-learn's do."""
    x = data(3_000)
    target = np.abs(np.nan_to_num(x["f0"].to_numpy()) * 3 + np.nan_to_num(x["f2"].to_numpy()))
    model = HistGradientBoostingRegressor(max_iter=30, loss=loss).fit(x, target)
    compiled = compile_trees(model)
    assert compiled is not None
    fresh = data(999, seed=2)
    assert np.array_equal(compiled.predict(fresh.to_numpy()), model.predict(fresh))


def test_rows_on_thresholds_and_infinities_go_where_scikit_learn_sends_them() -> None:
    """A value equal to a split's threshold goes left; +-inf and NaN follow the model, in a
    batch with a missing value and in one without."""
    x = data(2_000)
    model = HistGradientBoostingClassifier(max_iter=20).fit(x, labels(x, 2))
    compiled = compile_trees(model)
    assert compiled is not None
    splits = np.isfinite(compiled.thresholds)
    rows = np.zeros((int(splits.sum()) + 3, 6))
    rows[np.arange(int(splits.sum())), compiled.nodes[splits, FEATURE]] = compiled.thresholds[
        splits
    ]
    rows[-3], rows[-2], rows[-1] = np.inf, -np.inf, np.nan
    frame = pd.DataFrame(rows, columns=x.columns)
    assert np.array_equal(compiled.margins(rows), model._raw_predict(frame))
    assert np.array_equal(compiled.margins(rows[:-1]), model._raw_predict(frame[:-1]))


def test_a_big_batch_is_split_over_threads_with_the_same_answer() -> None:
    """Past THREADED_ROWS the rows are scored in parts on the pool; the parts join in order."""
    x = data(2_000)
    model = HistGradientBoostingClassifier(max_iter=10).fit(x, labels(x, 2))
    compiled = compile_trees(model)
    assert compiled is not None
    big = data(THREADED_ROWS * 2 + 5, seed=3)
    with threadpool_limits(2):
        threaded = compiled.predict_proba(big.to_numpy())
    assert np.array_equal(threaded, model.predict_proba(big))


def test_categorical_splits_and_other_estimators_are_left_to_scikit_learn() -> None:
    """Only numeric HistGradientBoosting models compile; the others keep their own predict."""
    x = data(1_000, missing=0.0)
    x["f5"] = (x["f5"] > 0).astype(int)
    categorical = HistGradientBoostingClassifier(max_iter=5, categorical_features=[5])
    assert compile_trees(categorical.fit(x, labels(x, 2))) is None
    assert compile_trees(DecisionTreeClassifier().fit(x, labels(x, 2))) is None


def test_the_sklearn_runtime_scores_arrays_through_the_compiled_trees() -> None:
    """A HistGradientBoosting upload takes float64 arrays and answers as the estimator does."""
    x = data(2_000)
    model = HistGradientBoostingClassifier(max_iter=15).fit(x, labels(x, 2))
    runtime = SklearnModel(model, LoadOptions())
    assert runtime.accepts_arrays and runtime.compiled is not None
    fresh = data(17, seed=4)
    assert np.array_equal(runtime.predict_proba(fresh.to_numpy()), model.predict_proba(fresh))
    assert np.array_equal(runtime.predict(fresh), model.predict(fresh))
    tree = SklearnModel(
        DecisionTreeClassifier(max_depth=3).fit(x.fillna(0), labels(x, 2)), LoadOptions()
    )
    assert not tree.accepts_arrays and tree.compiled is None
