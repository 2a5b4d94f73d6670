"""What every model format provides: load from bytes, describe, predict, probabilities, reasons.

A format module turns artifact bytes into a `ModelRuntime`. The registry, the workers' cache,
validation, batching and result writing only ever call these methods, whatever the format.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias

import numpy as np
import pandas as pd

from inferq.schema import ContributionsMethod, Feature, FeatureType, ModelSchema

#: What a runtime's predict methods take: a frame of the schema's columns, or (for a runtime
#: whose `accepts_arrays` is true) a float64 array of them in the schema's order.
Features: TypeAlias = pd.DataFrame | np.ndarray

#: The kinds of model whose per-feature contributions inferq computes, for error messages.
CONTRIBUTION_KINDS = (
    "LightGBM and XGBoost boosters (native or scikit-learn wrappers), scikit-learn tree "
    "ensembles (RandomForest, ExtraTrees, GradientBoosting, HistGradientBoosting, DecisionTree) "
    "and scikit-learn linear models"
)


@dataclass
class LoadOptions:
    """What the uploader said about an artifact that the artifact may not carry itself."""

    trusted_types: list[str] = field(default_factory=list)
    feature_names: list[str] = field(default_factory=list)
    classes: list[Any] | None = None


class FormatError(ValueError):
    """The artifact cannot be used; `loc` names the upload field to fix (`file`, `classes`...)."""

    def __init__(self, msg: str, loc: str = "file") -> None:
        super().__init__(msg)
        self.loc = loc
        self.msg = msg


class ContributionsUnsupported(ValueError):
    """The model is of a kind whose contributions inferq does not compute."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"contributions are not available for {what}; they are for {CONTRIBUTION_KINDS}"
        )


class ModelRuntime(Protocol):
    """A loaded model of any format, ready to score rows."""

    accepts_arrays: bool
    """Whether predict methods take a float64 array in feature order (skipping pandas)."""

    def describe(self, feature_types: dict[str, FeatureType]) -> ModelSchema:
        """Feature names and kinds, task, classes and contribution kind."""
        ...

    def predict(self, features: Features) -> np.ndarray:
        """One prediction per row: a class label or a value."""
        ...

    def predict_proba(self, features: Features) -> np.ndarray:
        """Class probabilities per row, `[N, classes]` in the schema's class order."""
        ...

    def contributions(
        self, features: Features, method: ContributionsMethod = "exact"
    ) -> np.ndarray:
        """Per-row feature contributions with the bias last, in the raw margin.

        `[N, F + 1]` for a regressor or binary classifier, `[N, classes, F + 1]` for multiclass.
        `method` is `exact` (TreeSHAP for trees) or `approximate` (Saabas path attributions,
        about a prediction's cost); a linear model's are exact either way. Raises
        ContributionsUnsupported for other kinds of model.
        """
        ...

    def memory_bytes(self) -> int:
        """Estimated memory the loaded model holds."""
        ...


def estimate_size(obj: Any) -> int:
    """Bytes an object holds: its pickled size, with numpy buffers counted but not copied."""
    buffers: list[int] = []

    def count(buffer: pickle.PickleBuffer) -> bool:
        buffers.append(buffer.raw().nbytes)
        return False  # keep it out of band: counted, never copied into the pickle

    try:
        inline = len(pickle.dumps(obj, protocol=5, buffer_callback=count))
    except Exception:  # an object that cannot be pickled: count nothing rather than fail
        return 0
    return inline + sum(buffers)


def as_array(features: Features, dtype: Any = np.float64) -> np.ndarray:
    """The features as one C-ordered array of `dtype` (columns in schema order)."""
    if isinstance(features, pd.DataFrame):
        return np.ascontiguousarray(features.to_numpy(dtype=dtype))
    return np.ascontiguousarray(features, dtype=dtype)


def sigmoid(margin: np.ndarray) -> np.ndarray:
    """Log-odds to probabilities."""
    return 1.0 / (1.0 + np.exp(-margin))


def softmax(margins: np.ndarray) -> np.ndarray:
    """Per-class margins `[N, C]` to probabilities."""
    shifted = np.exp(margins - margins.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def two_class(positive: np.ndarray) -> np.ndarray:
    """A binary classifier's positive-class probabilities as `[N, 2]`."""
    positive = np.asarray(positive, dtype=np.float64).reshape(-1)
    return np.column_stack([1.0 - positive, positive])


def labels_of(proba: np.ndarray, classes: list[Any]) -> np.ndarray:
    """The most probable class of each row."""
    return np.asarray(classes, dtype=object)[np.argmax(proba, axis=1)]


def booster_classes(count: int, given: list[Any] | None) -> list[Any]:
    """A booster's class labels: the uploader's `classes` (checked), else 0..count-1."""
    if given is None or len(given) == 0:
        return list(range(count))
    if len(given) != count:
        msg = f"the model has {count} classes but classes names {len(given)}"
        raise FormatError(msg, "classes")
    return list(given)


def booster_schema(names: list[str], classes: list[Any] | None) -> ModelSchema:
    """A native booster's schema: numeric features (missing values allowed), the task its
    objective gave (`classes` None: a regressor), contributions from its trees."""
    return ModelSchema(
        features=[Feature(name) for name in names],
        task="classification" if classes is not None else "regression",
        classes=classes,
        allow_nan=True,
        contributions="tree",
    )


def booster_feature_names(found: Sequence[str] | None, count: int, given: list[str]) -> list[str]:
    """Feature names: the uploader's (checked against the model's count), else the model's."""
    names = given or found or []
    if not names:
        raise FormatError("the model carries no feature names; give feature_names", "feature_names")
    if len(names) != count:
        raise FormatError(
            f"the model has {count} features but feature_names names {len(names)}", "feature_names"
        )
    return list(names)
