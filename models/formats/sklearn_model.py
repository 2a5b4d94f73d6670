"""scikit-learn estimators (skops, or joblib/pickle for admins) behind the runtime interface."""

from __future__ import annotations

from typing import Any

import numpy as np

from inferq.schema import ContributionsMethod
from models.artifacts import ArtifactFormat, load_artifact
from models.formats.base import Features, LoadOptions, as_array, estimate_size
from models.formats.compiled_trees import compile_trees
from models.formats.sklearn_contrib import SklearnContributions
from models.schema import FeatureType, ModelSchema, describe


def load(data: bytes, fmt: ArtifactFormat, options: LoadOptions) -> SklearnModel:
    """An estimator rebuilt from its artifact (skops trusts only `trusted_types` beyond its own)."""
    return SklearnModel(load_artifact(data, fmt, options.trusted_types), options)


class SklearnModel:
    """A fitted estimator: predict and predict_proba as it has them (HistGradientBoosting's trees
    compiled, see `compiled_trees`); contributions where known."""

    def __init__(self, estimator: Any, options: LoadOptions) -> None:
        self.estimator = estimator
        self.feature_names = options.feature_names
        self.explain = SklearnContributions(estimator)
        self.compiled = compile_trees(estimator)
        # Compiled trees read float64 arrays in feature order, so the scoring path skips pandas.
        self.accepts_arrays = self.compiled is not None

    def describe(self, feature_types: dict[str, FeatureType]) -> ModelSchema:
        """The estimator's schema (see `models.schema.describe`) and contribution kind."""
        schema = describe(self.estimator, self.feature_names or None, feature_types)
        schema.contributions = self.explain.kind
        return schema

    def predict(self, features: Features) -> np.ndarray:
        """The estimator's predictions."""
        if self.compiled is not None:
            return self.compiled.predict(as_array(features))
        return np.asarray(self.estimator.predict(features))

    def predict_proba(self, features: Features) -> np.ndarray:
        """The estimator's class probabilities."""
        if self.compiled is not None:
            return self.compiled.predict_proba(as_array(features))
        return np.asarray(self.estimator.predict_proba(features))

    def contributions(
        self, features: Features, method: ContributionsMethod = "exact"
    ) -> np.ndarray:
        """Tree contributions through shap or the booster, linear ones exactly."""
        return self.explain.compute(features, method)

    def memory_bytes(self) -> int:
        """The estimator's pickled size with its arrays."""
        return estimate_size(self.estimator)
