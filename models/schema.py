"""What a model expects and returns, read from the fitted estimator itself."""

from __future__ import annotations

from typing import Any

from sklearn.base import is_classifier
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, TargetEncoder

from inferq.schema import Feature, FeatureType, ModelSchema

_ENCODERS = (OneHotEncoder, OrdinalEncoder, TargetEncoder)


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
