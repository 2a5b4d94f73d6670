"""Native XGBoost models (`.json` or `.ubj`), loaded with `Booster.load_model`, no pickle."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import xgboost as xgb

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
    sigmoid,
    softmax,
)

BINARY = frozenset({"binary:logistic", "binary:logitraw"})
MULTICLASS = frozenset({"multi:softprob", "multi:softmax"})
REGRESSION = frozenset(
    {
        "reg:squarederror",
        "reg:squaredlogerror",
        "reg:logistic",
        "reg:pseudohubererror",
        "reg:absoluteerror",
        "reg:quantileerror",
        "reg:gamma",
        "reg:tweedie",
        "count:poisson",
    }
)


def load(data: bytes, options: LoadOptions) -> XGBoostModel:
    """A booster from its JSON or UBJSON bytes."""
    booster = xgb.Booster()
    try:
        booster.load_model(bytearray(data))
    except xgb.core.XGBoostError as exc:
        raise FormatError(f"not a readable XGBoost model: {str(exc).splitlines()[0]}") from exc
    booster.set_param({"nthread": 1})
    return XGBoostModel(booster, options)


def objective_of(booster: xgb.Booster) -> str:
    """The booster's objective name, as saved in its configuration."""
    config = orjson.loads(booster.save_config())
    return str(config["learner"]["objective"]["name"])


class XGBoostModel:
    """A native booster; binary and multiclass objectives score as classifiers."""

    accepts_arrays = True

    def __init__(self, booster: xgb.Booster, options: LoadOptions) -> None:
        self.booster = booster
        self.objective = objective_of(booster)
        if self.objective not in BINARY | MULTICLASS | REGRESSION:
            known = ", ".join(sorted(BINARY | MULTICLASS | REGRESSION))
            raise FormatError(f"unknown objective {self.objective!r}; inferq scores {known}")
        self.names = booster_feature_names(
            booster.feature_names, booster.num_features(), options.feature_names
        )
        self.classes: list[Any] | None = None
        if self.objective in BINARY:
            self.classes = booster_classes(2, options.classes)
        elif self.objective in MULTICLASS:
            config = orjson.loads(booster.save_config())
            count = int(config["learner"]["learner_model_param"]["num_class"])
            self.classes = booster_classes(count, options.classes)

    def describe(self, feature_types: dict[str, FeatureType]) -> ModelSchema:
        """Numeric features, task from the objective, contributions from the trees."""
        return booster_schema(self.names, self.classes)

    def _margin(self, features: Features) -> np.ndarray:
        return np.asarray(
            self.booster.inplace_predict(
                as_array(features), predict_type="margin", validate_features=False
            )
        )

    def predict(self, features: Features) -> np.ndarray:
        """Class labels for classifiers, values for regressors."""
        if self.classes is None:
            return np.asarray(
                self.booster.inplace_predict(as_array(features), validate_features=False)
            ).reshape(-1)
        return labels_of(self.predict_proba(features), self.classes)

    def predict_proba(self, features: Features) -> np.ndarray:
        """Sigmoid of the margin (binary) or softmax of the class margins."""
        margin = self._margin(features).astype(np.float64)
        if self.objective in BINARY:
            positive = sigmoid(margin.reshape(-1))
            return np.column_stack([1.0 - positive, positive])
        return softmax(margin.reshape(len(margin), -1))

    def contributions(
        self, features: Features, method: ContributionsMethod = "exact"
    ) -> np.ndarray:
        """`pred_contribs`: SHAP values per feature plus the bias, summing to the margin
        (`approx_contribs`, XGBoost's Saabas path attributions, for `approximate`)."""
        return booster_contributions(self.booster, as_array(features), method)

    def margin(self, features: Features) -> np.ndarray:
        """The raw margin the contributions sum to."""
        return self._margin(features)

    def memory_bytes(self) -> int:
        """About the size of the saved model."""
        return len(self.booster.save_raw("ubj"))


def booster_contributions(
    booster: xgb.Booster, x: np.ndarray, method: ContributionsMethod
) -> np.ndarray:
    """A booster's own contributions of the rows: TreeSHAP, or its Saabas for `approximate`."""
    matrix = xgb.DMatrix(x, missing=np.nan)
    approximate = method == "approximate"
    return np.asarray(
        booster.predict(
            matrix, pred_contribs=True, approx_contribs=approximate, validate_features=False
        )
    )
