"""Scoring all-numeric models on NumPy arrays, which skips pandas' per-call overhead.

For a one-row batch, scikit-learn's DataFrame path (feature-name checks, conversion) costs more
than the prediction itself (HistGradientBoosting: ~7 ms against ~3 ms on this project's machine).
Our frames always hold the fitted feature columns in fitted order, so the array carries the same
values; a model that needs column names (a ColumnTransformer selecting by name) refuses the array
when probed at load and keeps DataFrames.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from inferq.schema import ContributionsMethod, ModelSchema

# Process-wide on purpose: warnings.catch_warnings() is not thread-safe, and the batcher thread
# and Celery's task thread score in the same process. The message is only ever raised for the
# arrays this module passes, whose columns are in fitted order by construction.
warnings.filterwarnings(
    "ignore", message="X does not have valid feature names", category=UserWarning
)


class ArrayInput:
    """A model's predict methods, called with the frame's values instead of the frame."""

    accepts_arrays = True

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator

    def predict(self, features: pd.DataFrame | np.ndarray) -> Any:
        """The model's predictions for the rows."""
        return self.estimator.predict(_values(features))

    def predict_proba(self, features: pd.DataFrame | np.ndarray) -> Any:
        """The model's class probabilities for the rows."""
        return self.estimator.predict_proba(_values(features))

    def contributions(
        self, features: pd.DataFrame | np.ndarray, method: ContributionsMethod = "exact"
    ) -> Any:
        """The model's per-feature contributions for the rows."""
        return self.estimator.contributions(_values(features), method)


def _values(features: pd.DataFrame | np.ndarray) -> np.ndarray:
    if isinstance(features, pd.DataFrame):
        return features.to_numpy(dtype=np.float64, copy=False)
    return features


def fast_input(estimator: Any, schema: ModelSchema) -> Any:
    """`ArrayInput(estimator)` when it predicts the same as the estimator on a probe, else it.

    A runtime that takes arrays itself (ONNX, the boosters) is returned as it is.
    """
    if getattr(estimator, "accepts_arrays", False):
        return estimator
    if schema.string_features or not schema.features:
        return estimator
    rng = np.random.default_rng(0)
    probe = pd.DataFrame(rng.normal(size=(8, len(schema.features))), columns=schema.feature_names)
    adapter = ArrayInput(estimator)
    try:
        same = np.array_equal(
            np.asarray(estimator.predict(probe)), np.asarray(adapter.predict(probe))
        )
    except Exception:  # the model needs its DataFrame (columns picked by name, ...)
        return estimator
    return adapter if same else estimator
