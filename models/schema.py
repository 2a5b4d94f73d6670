"""What a model expects and returns, read from the fitted estimator itself."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from sklearn.base import is_classifier
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, TargetEncoder

FeatureType = Literal["number", "string"]
_ENCODERS = (OneHotEncoder, OrdinalEncoder, TargetEncoder)


@dataclass
class Feature:
    """One input column: its name and whether it holds numbers or category strings."""

    name: str
    type: FeatureType = "number"


@dataclass
class ModelSchema:
    """A model's input columns and output kind, as the API shows and validates them."""

    features: list[Feature]
    task: Literal["classification", "regression"]
    classes: list[Any] | None = None
    allow_nan: bool = False
    """Whether missing numeric values (null, empty CSV fields) may be passed to the model."""
    contributions: str | None = None
    """How per-feature contributions are computed (`tree`, `linear`), or None: not available."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def feature_names(self) -> list[str]:
        """Input column names in the order the model was fitted with."""
        return [feature.name for feature in self.features]

    @property
    def string_features(self) -> set[str]:
        """Names of the features that hold category strings."""
        return {feature.name for feature in self.features if feature.type == "string"}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSchema:
        """Rebuild from `to_dict` output."""
        features = [Feature(**feature) for feature in data["features"]]
        return cls(**{**data, "features": features})


class SchemaError(ValueError):
    """The model's inputs cannot be determined; the uploader must name its features."""


def describe(
    estimator: Any,
    feature_names: list[str] | None = None,
    feature_types: dict[str, FeatureType] | None = None,
) -> ModelSchema:
    """Read feature names and kinds, task and classes from a fitted estimator."""
    names = feature_names or _fitted_feature_names(estimator)
    if not names:
        raise SchemaError(
            "the model has no feature_names_in_; fit it on a DataFrame or give the feature names"
        )
    kinds = {**_encoded_columns(estimator), **(feature_types or {})}
    features = [Feature(name, kinds.get(name, "number")) for name in names]
    classifier = is_classifier(estimator)
    classes = [_plain(value) for value in estimator.classes_] if classifier else None
    return ModelSchema(
        features=features,
        task="classification" if classifier else "regression",
        classes=classes,
        allow_nan=_allows_nan(estimator),
    )


def _fitted_feature_names(estimator: Any) -> list[str] | None:
    names = getattr(estimator, "feature_names_in_", None)
    return [str(name) for name in names] if names is not None else None


def _encoded_columns(estimator: Any) -> dict[str, FeatureType]:
    """Columns that a ColumnTransformer at the front of the model sends to an encoder."""
    return {column: "string" for column in encoders_by_column(estimator)}


def encoders_by_column(estimator: Any) -> dict[str, tuple[Any, int]]:
    """Each column a front ColumnTransformer encodes, with its encoder and its place in it."""
    first = estimator.steps[0][1] if isinstance(estimator, Pipeline) else estimator
    if not isinstance(first, ColumnTransformer) or not hasattr(first, "transformers_"):
        return {}
    found: dict[str, tuple[Any, int]] = {}
    for _, transformer, columns in first.transformers_:
        last = transformer.steps[-1][1] if isinstance(transformer, Pipeline) else transformer
        if isinstance(last, _ENCODERS) and isinstance(columns, list | tuple):
            found.update({str(column): (last, i) for i, column in enumerate(columns)})
    return found


def _allows_nan(estimator: Any) -> bool:
    try:
        return bool(estimator.__sklearn_tags__().input_tags.allow_nan)
    except AttributeError:
        return False


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value JSON can carry."""
    return value.item() if hasattr(value, "item") else value
