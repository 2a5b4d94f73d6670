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

from inferq.schema import ModelSchema

# Process-wide on purpose: warnings.catch_warnings() is not thread-safe, and the batcher thread
# and Celery's task thread score in the same process. The message is only ever raised for the
# arrays this module passes, whose columns are in fitted order by construction.
warnings.filterwarnings(
    "ignore", message="X does not have valid feature names", category=UserWarning
)


class ArrayInput:
    """An estimator's predict/predict_proba, called with the frame's values instead of the frame."""

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator

    def predict(self, frame: pd.DataFrame) -> Any:
        """The estimator's predictions for the frame's rows."""
        return self.estimator.predict(frame.to_numpy(dtype=np.float64, copy=False))

    def predict_proba(self, frame: pd.DataFrame) -> Any:
        """The estimator's class probabilities for the frame's rows."""
        return self.estimator.predict_proba(frame.to_numpy(dtype=np.float64, copy=False))


def fast_input(estimator: Any, schema: ModelSchema) -> Any:
    """`ArrayInput(estimator)` when it predicts the same as the estimator on a probe, else it."""
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
