"""Native LightGBM text models, loaded with `Booster(model_str=...)`, no pickle."""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np

from inferq.schema import ContributionsMethod, FeatureType, ModelSchema
from models.formats.base import (
    Features,
    FormatError,
    LoadOptions,
    as_array,
    booster_classes,
    booster_feature_names,
    booster_schema,
    labels_of,
    two_class,
)
from models.formats.lgbm_paths import PathAttributions

BINARY = frozenset({"binary"})
MULTICLASS = frozenset({"multiclass", "multiclassova"})
REGRESSION = frozenset(
    {
        "regression",
        "regression_l1",
        "huber",
        "fair",
        "poisson",
        "quantile",
        "mape",
        "gamma",
        "tweedie",
        "cross_entropy",
        "cross_entropy_lambda",
    }
)
#: One thread per call: a worker process is one of several sharing the cores.
_PREDICT: dict[str, Any] = {"num_threads": 1}


def load(data: bytes, options: LoadOptions) -> LightGBMModel:
    """A booster from its text model."""
    try:
        text = data.decode("utf-8")
        booster = lgb.Booster(model_str=text)
    except (UnicodeDecodeError, lgb.basic.LightGBMError) as exc:
        raise FormatError(f"not a readable LightGBM text model: {exc}") from exc
    return LightGBMModel(booster, _header(text), options)


def _header(text: str) -> dict[str, str]:
    """`key=value` lines of the model text before its first tree."""
    header: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("Tree="):
            break
        key, sep, value = line.partition("=")
        if sep:
            header[key.strip()] = value.strip()
    return header


class LightGBMModel:
    """A native booster; binary and multiclass objectives score as classifiers."""

    accepts_arrays = True

    def __init__(self, booster: lgb.Booster, header: dict[str, str], options: LoadOptions) -> None:
        self.booster = booster
        self.objective = header.get("objective", "").split(" ")[0]
        if self.objective not in BINARY | MULTICLASS | REGRESSION:
            known = ", ".join(sorted(BINARY | MULTICLASS | REGRESSION))
            raise FormatError(f"unknown objective {self.objective!r}; inferq scores {known}")
        names = booster.feature_name()
        generated = names == [f"Column_{i}" for i in range(len(names))]
        self.names = booster_feature_names(
            None if generated else names, booster.num_feature(), options.feature_names
        )
        self.paths: PathAttributions | None = None
        self.classes: list[Any] | None = None
        if self.objective in BINARY:
            self.classes = booster_classes(2, options.classes)
        elif self.objective in MULTICLASS:
            self.classes = booster_classes(int(header.get("num_class", "1")), options.classes)

    def describe(self, feature_types: dict[str, FeatureType]) -> ModelSchema:
        """Numeric features, task from the objective, contributions from the trees."""
        return booster_schema(self.names, self.classes)

    def predict(self, features: Features) -> np.ndarray:
        """Class labels for classifiers, values for regressors."""
        if self.classes is None:
            return np.asarray(self.booster.predict(as_array(features), **_PREDICT)).reshape(-1)
        return labels_of(self.predict_proba(features), self.classes)

    def predict_proba(self, features: Features) -> np.ndarray:
        """The booster's probabilities, `[N, 2]` for binary."""
        proba = np.asarray(self.booster.predict(as_array(features), **_PREDICT))
        return two_class(proba) if self.objective in BINARY else proba

    def contributions(
        self, features: Features, method: ContributionsMethod = "exact"
    ) -> np.ndarray:
        """`pred_contrib`: SHAP values per feature plus the bias, summing to the raw score;
        Saabas path attributions (`lgbm_paths`) for `approximate`."""
        if method == "approximate":
            if self.paths is None:  # read from the trees on first use, then kept
                self.paths = PathAttributions(self.booster)
            return self.paths.compute(as_array(features))
        found = np.asarray(self.booster.predict(as_array(features), pred_contrib=True, **_PREDICT))
        if self.objective in MULTICLASS:
            return found.reshape(len(found), len(self.classes or []), -1)
        return found

    def margin(self, features: Features) -> np.ndarray:
        """The raw score the contributions sum to."""
        return np.asarray(self.booster.predict(as_array(features), raw_score=True, **_PREDICT))

    def memory_bytes(self) -> int:
        """About the size of the text model."""
        return len(self.booster.model_to_string())
