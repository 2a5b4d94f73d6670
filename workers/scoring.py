"""Vectorized scoring of a frame of rows: predictions and class probabilities per row."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

from inferq.schema import ContributionsMethod, ModelSchema

_threadpools = ThreadpoolController()
#: Below this many rows a predict call is faster on one thread than waking a thread pool.
SMALL_BATCH_ROWS = 2_000


def single_threaded_if_small(rows: int) -> AbstractContextManager[object]:
    """Limit OpenMP/BLAS to one thread for a small batch; leave big batches on every core."""
    if rows < SMALL_BATCH_ROWS:
        return _threadpools.limit(limits=1)
    return nullcontext()


def proba_column(label: Any) -> str:
    """The output column holding the probability of one class."""
    return f"proba_{label}"


def contribution_columns(schema: ModelSchema) -> list[str]:
    """`contrib_<feature>` per feature and `contrib_bias`; per class for a multiclass model."""
    names = [*schema.feature_names, "bias"]
    if schema.classes is not None and len(schema.classes) > 2:
        return [f"contrib_{label}_{name}" for label in schema.classes for name in names]
    return [f"contrib_{name}" for name in names]


def output_columns(schema: ModelSchema, outputs: list[str], passthrough: list[str]) -> list[str]:
    """Result columns in order: passthrough, `prediction`, one `proba_<class>` per class, then
    the contributions."""
    columns = list(passthrough)
    if "prediction" in outputs:
        columns.append("prediction")
    if "probabilities" in outputs and schema.classes is not None:
        columns += [proba_column(label) for label in schema.classes]
    if "contributions" in outputs:
        columns += contribution_columns(schema)
    return columns


def features_frame(rows: pd.DataFrame, schema: ModelSchema) -> pd.DataFrame:
    """The model's feature columns in fitted order, numbers as float64, categories as objects."""
    frame = rows[schema.feature_names]
    numeric = [name for name in schema.feature_names if name not in schema.string_features]
    if numeric:
        frame = frame.astype(dict.fromkeys(numeric, "float64"))
    return frame


def frame_from_values(values: list[list[Any]] | np.ndarray, schema: ModelSchema) -> pd.DataFrame:
    """Feature rows (lists in the schema's feature order) as a typed DataFrame, built in one go."""
    names = schema.feature_names
    strings = schema.string_features
    if not strings:
        return pd.DataFrame(
            np.array(values, dtype=np.float64).reshape(-1, len(names)), columns=names
        )
    columns = list(zip(*values, strict=True)) if values else [() for _ in names]
    return pd.DataFrame(
        {
            name: np.array(column, dtype=object if name in strings else np.float64)
            for name, column in zip(names, columns, strict=True)
        }
    )


def predict_columns(
    estimator: Any,
    schema: ModelSchema,
    values: list[list[Any]] | np.ndarray,
    outputs: list[str],
    batch_rows: int = 100_000,
    contributions_method: ContributionsMethod | None = None,
) -> dict[str, list[Any]]:
    """Output columns, as lists, for feature rows given as lists (or as a float64 matrix).

    A model that takes arrays (`accepts_arrays`) is scored on one NumPy array without pandas:
    for a small batch, building and slicing DataFrames costs about as much as the predict call.
    """
    names = output_columns(schema, outputs, [])
    if not getattr(estimator, "accepts_arrays", False):
        frame = frame_from_values(values, schema)
        predicted = predict_table(
            estimator, schema, frame, outputs, batch_rows, contributions_method=contributions_method
        )
        return {name: predicted[name].to_numpy().tolist() for name in names}
    features = np.asarray(values, dtype=np.float64).reshape(-1, len(schema.feature_names))
    columns: dict[str, list[Any]] = {name: [] for name in names}
    for start in range(0, len(features), batch_rows):
        batch = features[start : start + batch_rows]
        scored = _score_arrays(estimator, schema, batch, outputs, contributions_method)
        for name, column in scored.items():
            columns[name] += column.tolist()
    return columns


def score_frame(
    estimator: Any,
    schema: ModelSchema,
    rows: pd.DataFrame,
    outputs: list[str],
    passthrough: list[str],
    batch_rows: int = 100_000,
    on_batch: Callable[[int], None] | None = None,
    keep_going: Callable[[int], bool] | None = None,
    contributions_method: ContributionsMethod | None = None,
) -> pd.DataFrame:
    """Score rows with one predict call per `batch_rows` slice; never row by row.

    `on_batch` is told each slice's row count (for the batch size metric). `keep_going`, asked
    before each slice with the rows scored so far, may stop the scoring there: the result then
    holds the leading rows scored until then. `contributions_method` is how `contributions` are
    computed (None: exact).
    """
    features = features_frame(rows, schema)
    predicted = predict_table(
        estimator, schema, features, outputs, batch_rows, on_batch, keep_going, contributions_method
    )
    return assemble(rows.iloc[: len(predicted)], predicted, outputs, passthrough, schema)


def predict_table(
    estimator: Any,
    schema: ModelSchema,
    features: pd.DataFrame,
    outputs: list[str],
    batch_rows: int = 100_000,
    on_batch: Callable[[int], None] | None = None,
    keep_going: Callable[[int], bool] | None = None,
    contributions_method: ContributionsMethod | None = None,
) -> pd.DataFrame:
    """The output columns for feature rows, vectorized per slice."""
    parts = []
    for start in range(0, len(features), batch_rows):
        if keep_going is not None and not keep_going(start):
            break
        batch = features.iloc[start : start + batch_rows]
        scored = _score_arrays(estimator, schema, batch, outputs, contributions_method)
        parts.append(pd.DataFrame(scored, index=batch.index))
        if on_batch is not None:
            on_batch(len(batch))
    if parts:
        return pd.concat(parts)
    # Nothing scored (no rows, or stopped before the first slice): the columns, without rows.
    names = output_columns(schema, outputs, [])
    return pd.DataFrame({name: pd.Series(dtype=object) for name in names}, index=features.index[:0])


def assemble(
    rows: pd.DataFrame,
    predicted: pd.DataFrame,
    outputs: list[str],
    passthrough: list[str],
    schema: ModelSchema,
) -> pd.DataFrame:
    """One job's result: its passthrough columns, then the outputs it asked for, in order."""
    result = rows[passthrough].copy() if passthrough else pd.DataFrame(index=rows.index)
    for column in output_columns(schema, outputs, []):
        result[column] = predicted[column].to_numpy()
    return result


def _score_arrays(
    estimator: Any,
    schema: ModelSchema,
    batch: pd.DataFrame | np.ndarray,
    outputs: list[str],
    contributions_method: ContributionsMethod | None,
) -> dict[str, np.ndarray]:
    """Each output column for one slice of rows, whatever the model's format."""
    scored: dict[str, np.ndarray] = {}
    if "prediction" in outputs:
        scored["prediction"] = np.asarray(estimator.predict(batch)).reshape(-1)
    if "probabilities" in outputs and schema.classes is not None:
        proba = estimator.predict_proba(batch)
        for position, label in enumerate(schema.classes):
            scored[proba_column(label)] = proba[:, position]
    if "contributions" in outputs:
        method = contributions_method or "exact"
        found = np.asarray(estimator.contributions(batch, method), dtype=np.float64)
        flat = found.reshape(len(found), -1)  # per class, features then bias, class after class
        for position, name in enumerate(contribution_columns(schema)):
            scored[name] = flat[:, position]
    return scored
