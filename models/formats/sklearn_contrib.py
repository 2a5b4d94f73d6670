"""Per-feature contributions of scikit-learn models: trees through shap, linear models exactly.

Scalers in front of the model keep one column per feature, so a pipeline of scalers and a
supported model explains the model on the scaled columns and keeps the feature names.
"""

from __future__ import annotations

from typing import Any

import numpy as np
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
from sklearn.linear_model._base import LinearClassifierMixin, LinearModel
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, RobustScaler, StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from inferq.schema import ContributionsMethod
from models.formats.base import ContributionsUnsupported, Features, as_array

SHAP_TREES = (
    RandomForestClassifier,
    RandomForestRegressor,
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    DecisionTreeClassifier,
    DecisionTreeRegressor,
)
#: Steps that map each column to itself, so contributions still belong to named features.
_PER_COLUMN = (StandardScaler, MinMaxScaler, MaxAbsScaler, RobustScaler)


def split_model(estimator: Any) -> tuple[list[Any], Any]:
    """The per-column steps in front (possibly none) and the final model."""
    if isinstance(estimator, Pipeline):
        steps = [step for _, step in estimator.steps if step not in (None, "passthrough")]
        return steps[:-1], steps[-1]
    return [], estimator


def contribution_kind(estimator: Any) -> str | None:
    """`tree` or `linear` when contributions can be computed for the estimator, else None."""
    front, final = split_model(estimator)
    if not all(isinstance(step, _PER_COLUMN) for step in front):
        return None
    module = type(final).__module__
    if isinstance(final, GradientBoostingClassifier) and len(final.classes_) > 2:
        return None  # shap explains only its binary form
    if module.startswith(("xgboost", "lightgbm")) or isinstance(final, SHAP_TREES):
        return "tree"
    if isinstance(final, LinearModel | LinearClassifierMixin) and hasattr(final, "coef_"):
        return "linear"
    return None


class SklearnContributions:
    """Contributions of one fitted estimator, in its raw margin."""

    def __init__(self, estimator: Any) -> None:
        self.kind = contribution_kind(estimator)
        self.front, self.final = split_model(estimator)
        self._made: Any = None

    def compute(self, features: Features, method: ContributionsMethod = "exact") -> np.ndarray:
        """`[N, F + 1]` (bias last), or `[N, classes, F + 1]` for a multiclass model; trees'
        are Saabas path attributions for `approximate`, linear models' exact either way."""
        if self.kind is None:
            raise ContributionsUnsupported(f"a {type(self.final).__name__}")
        scaled: Any = features
        for step in self.front:  # a frame stays a frame into the first step, as it was fitted
            scaled = step.transform(scaled)
        x = as_array(scaled)
        module = type(self.final).__module__
        if module.startswith("lightgbm"):
            if method == "approximate":
                return self._explainer().compute(x)
            return _multiclass(self.final.predict(scaled, pred_contrib=True), self.final)
        if module.startswith("xgboost"):
            from models.formats.xgb_booster import booster_contributions

            return booster_contributions(self.final.get_booster(), x, method)
        if self.kind == "linear":
            return _linear(self.final, x)
        return self._shap(x, method)

    def _explainer(self) -> Any:
        """shap's TreeExplainer (both methods), or a LightGBM model's path attributions (its
        exact ones are its own `pred_contrib`); made on first use."""
        if self._made is None:
            if type(self.final).__module__.startswith("lightgbm"):
                from models.formats.lgbm_paths import PathAttributions

                self._made = PathAttributions(self.final.booster_)
            else:
                import shap  # imported on first use: it is slow to import and only trees need it

                self._made = shap.TreeExplainer(self.final)
        return self._made

    def _shap(self, x: np.ndarray, method: ContributionsMethod) -> np.ndarray:
        explainer = self._explainer()
        approximate = method == "approximate"  # shap's Saabas: each row's path once per tree
        values = np.asarray(
            explainer.shap_values(x, check_additivity=False, approximate=approximate)
        )
        bias = np.asarray(explainer.expected_value, dtype=np.float64).reshape(-1)
        if values.ndim == 2:  # one output: a regressor or a log-odds binary classifier
            return np.column_stack([values, np.full(len(values), bias[0])])
        per_class = np.moveaxis(values, 2, 1)  # [N, F, C] -> [N, C, F]
        with_bias = np.concatenate(
            [per_class, np.broadcast_to(bias[None, :, None], (len(x), len(bias), 1))], axis=2
        )
        return with_bias[:, 1, :] if with_bias.shape[1] == 2 else with_bias


def _linear(model: Any, x: np.ndarray) -> np.ndarray:
    """coef × x per feature, the intercept as the bias: exactly the decision function."""
    coef = np.atleast_2d(np.asarray(model.coef_, dtype=np.float64))
    intercept = np.broadcast_to(np.asarray(model.intercept_, dtype=np.float64), (len(coef),))
    per_class = x[:, None, :] * coef[None, :, :]
    bias = np.broadcast_to(intercept[None, :, None], (len(x), len(coef), 1))
    found = np.concatenate([per_class, bias], axis=2)
    return found[:, 0, :] if len(coef) == 1 else found


def _multiclass(found: Any, model: Any) -> np.ndarray:
    found = np.asarray(found)
    classes = len(getattr(model, "classes_", []))
    if classes > 2:
        return found.reshape(len(found), classes, -1)
    return found


def raw_margin(estimator: Any, features: Features) -> np.ndarray:
    """What the contributions sum to: decision function, raw score, or probability for forests."""
    x = features
    _, final = split_model(estimator)
    if type(final).__module__.startswith("lightgbm"):
        return np.asarray(estimator.predict(x, raw_score=True))
    if type(final).__module__.startswith("xgboost"):
        return np.asarray(estimator.predict(x, output_margin=True))
    if hasattr(estimator, "decision_function"):
        return np.asarray(estimator.decision_function(x))
    if hasattr(estimator, "predict_proba"):
        proba = np.asarray(estimator.predict_proba(x))
        return proba[:, 1] if proba.shape[1] == 2 else proba
    return np.asarray(estimator.predict(x))
