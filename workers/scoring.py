"""Vectorized scoring of a frame of rows: predictions and class probabilities per row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from models.schema import ModelSchema


def proba_column(label: Any) -> str:
    """The output column holding the probability of one class."""
    return f"proba_{label}"


def output_columns(schema: ModelSchema, outputs: list[str], passthrough: list[str]) -> list[str]:
    """Result columns in order: passthrough, `prediction`, then one `proba_<class>` per class."""
    columns = list(passthrough)
    if "prediction" in outputs:
        columns.append("prediction")
    if "probabilities" in outputs and schema.classes is not None:
        columns += [proba_column(label) for label in schema.classes]
    return columns


def features_frame(rows: pd.DataFrame, schema: ModelSchema) -> pd.DataFrame:
    """The model's feature columns in fitted order, numbers as float64, categories as objects."""
    frame = rows[schema.feature_names]
    numeric = [name for name in schema.feature_names if name not in schema.string_features]
    if numeric:
        frame = frame.astype(dict.fromkeys(numeric, "float64"))
    return frame


def score_frame(
    estimator: Any,
    schema: ModelSchema,
    rows: pd.DataFrame,
    outputs: list[str],
    passthrough: list[str],
    batch_rows: int = 100_000,
    on_batch: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Score rows with one predict call per `batch_rows` slice; never row by row.

    `on_batch` is told each slice's row count (for the batch size metric).
    """
    features = features_frame(rows, schema)
    parts = []
    for start in range(0, len(features), batch_rows):
        batch = features.iloc[start : start + batch_rows]
        parts.append(_score_batch(estimator, schema, batch, outputs))
        if on_batch is not None:
            on_batch(len(batch))
    scored = pd.concat(parts) if parts else pd.DataFrame(index=rows.index)
    result = rows[passthrough].copy() if passthrough else pd.DataFrame(index=rows.index)
    for column in scored.columns:
        result[column] = scored[column].to_numpy()
    return result[output_columns(schema, outputs, passthrough)]


def _score_batch(
    estimator: Any, schema: ModelSchema, batch: pd.DataFrame, outputs: list[str]
) -> pd.DataFrame:
    scored = pd.DataFrame(index=batch.index)
    if "prediction" in outputs:
        scored["prediction"] = np.asarray(estimator.predict(batch))
    if "probabilities" in outputs and schema.classes is not None:
        proba = estimator.predict_proba(batch)
        for position, label in enumerate(schema.classes):
            scored[proba_column(label)] = proba[:, position]
    return scored
