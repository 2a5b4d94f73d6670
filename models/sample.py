"""A plausible input row built from a model's schema, to prove a new version can predict."""

from __future__ import annotations

from typing import Any

import pandas as pd

from inferq.schema import ModelSchema
from models.schema import encoders_by_column

#: The number a sample row holds in each numeric column: 1.0 survives logs and reciprocals.
SAMPLE_NUMBER = 1.0


def sample_frame(estimator: Any, schema: ModelSchema) -> pd.DataFrame:
    """One row: 1.0 per numeric feature, a category the model knows per string feature."""
    encoders = encoders_by_column(estimator)
    row: dict[str, Any] = {}
    for feature in schema.features:
        if feature.type == "number":
            row[feature.name] = SAMPLE_NUMBER
        else:
            row[feature.name] = _known_category(encoders.get(feature.name))
    frame = pd.DataFrame([row], columns=schema.feature_names)
    numeric = [f.name for f in schema.features if f.type == "number"]
    return frame.astype(dict.fromkeys(numeric, "float64")) if numeric else frame


def _known_category(found: tuple[Any, int] | None) -> Any:
    """The encoder's first fitted category for the column, or an empty string when unknown."""
    if found is None:
        return ""
    encoder, position = found
    categories = getattr(encoder, "categories_", None)
    if categories is None or len(categories[position]) == 0:
        return ""
    value = categories[position][0]
    return value.item() if hasattr(value, "item") else value
