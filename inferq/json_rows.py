"""JSON job rows in MLflow's three formats, turned into one checked columns/data form; and
all-numeric rows as one float64 matrix (`MatrixRows`), checked alike without Python lists."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from inferq.problems import InputProblem
from inferq.schema import ModelSchema

ROW_FORMATS = ("dataframe_split", "dataframe_records", "instances")


@dataclass
class Rows:
    """Rows as column names and row-major values (the stored form of a JSON job's input)."""

    columns: list[str]
    data: list[list[Any]]

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form."""
        return {"columns": self.columns, "data": self.data}


@dataclass
class MatrixRows:
    """All-numeric rows as one float64 matrix, a column per name; NaN is a missing value (None
    in `Rows`). The synchronous protocols carry numeric tensors so, end to end (issue 19)."""

    columns: list[str]
    matrix: np.ndarray

    @property
    def data(self) -> np.ndarray:
        """The rows (a matrix counts its rows with `len` as a list does)."""
        return self.matrix


def rows_from_payload(fmt: str, payload: Any, schema: ModelSchema) -> Rows:
    """Read the rows of one format; InputProblem naming the place when the shape is wrong."""
    if fmt == "dataframe_split":
        return _from_split(payload)
    if fmt == "dataframe_records":
        return _from_records(payload)
    return _from_instances(payload, schema)


def check_rows(rows: Rows, schema: ModelSchema, passthrough: list[str], fmt: str) -> None:
    """Check columns and every value against the model's schema, reporting all problems."""
    if not rows.data:
        raise InputProblem("No rows to score", [{"loc": [fmt], "msg": "no rows were given"}])
    errors = _column_errors(rows.columns, schema, passthrough, fmt)
    if errors:
        raise InputProblem("Input columns do not match the model", errors)
    errors = _value_errors(rows, schema, fmt)
    if errors:
        raise InputProblem("Input values do not fit the model", errors)


def checked_matrix(rows: Rows, schema: ModelSchema) -> MatrixRows | None:
    """Rows that passed `check_rows` without passthrough columns, as a float64 matrix in the
    model's feature order when the model takes only numbers (None: a missing value, NaN); None
    when they cannot be one (category strings, a number too big for a float)."""
    if schema.string_features:
        return None
    names = schema.feature_names
    try:
        matrix = np.array(rows.data, dtype=np.float64).reshape(-1, len(rows.columns))
    except (OverflowError, TypeError, ValueError):
        return None
    if rows.columns != names:
        matrix = matrix[:, [rows.columns.index(name) for name in names]]
    return MatrixRows(list(names), matrix)


def check_matrix(rows: MatrixRows, schema: ModelSchema, fmt: str) -> None:
    """`check_rows` for a matrix, vectorized: the same problems with the same messages, for a
    model without category string features."""
    if not len(rows.matrix):
        raise InputProblem("No rows to score", [{"loc": [fmt], "msg": "no rows were given"}])
    errors = _column_errors(rows.columns, schema, [], fmt)
    if errors:
        raise InputProblem("Input columns do not match the model", errors)
    matrix = rows.matrix
    with np.errstate(all="ignore"):  # inf - inf and overflows are expected, not warnings
        total = matrix.sum()
    if np.isfinite(total):  # one pass in C: any NaN or infinity makes the sum not finite
        return
    missing = np.isnan(matrix)
    wrong = ~np.isfinite(matrix) if not schema.allow_nan else ~(np.isfinite(matrix) | missing)
    if not wrong.any():
        return
    errors = []
    for i, position in np.argwhere(wrong)[:_MOST_ERRORS].tolist():  # row by row, as check_rows
        msg = _MISSING if missing[i, position] else _NOT_FINITE
        errors.append({"loc": [fmt, i, rows.columns[position]], "msg": msg})
    raise InputProblem("Input values do not fit the model", errors)


def _from_split(payload: Any) -> Rows:
    if not isinstance(payload, dict) or not isinstance(payload.get("columns"), list):
        raise _shape("dataframe_split", 'must be an object with "columns" and "data" lists')
    columns, data = payload["columns"], payload.get("data")
    if not all(isinstance(name, str) for name in columns):
        raise _shape("dataframe_split.columns", "column names must be strings")
    if not isinstance(data, list):
        raise _shape("dataframe_split.data", "must be a list of rows")
    _check_unique(columns, ["dataframe_split", "columns"])
    errors = [
        {"loc": ["dataframe_split", "data", i], "msg": _ragged(row, len(columns))}
        for i, row in enumerate(data)
        if not isinstance(row, list) or len(row) != len(columns)
    ]
    if errors:
        raise InputProblem("Rows do not match the columns", errors)
    return Rows(list(columns), data)


def _from_records(payload: Any) -> Rows:
    if not isinstance(payload, list):
        raise _shape("dataframe_records", "must be a list of objects, one per row")
    columns: dict[str, None] = {}
    for i, record in enumerate(payload):
        if not isinstance(record, dict):
            raise _shape(f"dataframe_records.{i}", "each row must be an object")
        columns.update(dict.fromkeys(record))
    names = list(columns)
    errors = [
        {"loc": ["dataframe_records", i, name], "msg": "this row lacks the column"}
        for i, record in enumerate(payload)
        for name in names
        if name not in record
    ]
    if errors:
        raise InputProblem("Rows do not all have the same columns", errors)
    return Rows(names, [[record[name] for name in names] for record in payload])


def _from_instances(payload: Any, schema: ModelSchema) -> Rows:
    if not isinstance(payload, list):
        raise _shape("instances", "must be a list of rows")
    if payload and all(isinstance(row, dict) for row in payload):
        return _from_records(payload)
    width = len(schema.features)
    errors = [
        {"loc": ["instances", i], "msg": _ragged(row, width)}
        for i, row in enumerate(payload)
        if not isinstance(row, list) or len(row) != width
    ]
    if errors:
        raise InputProblem("Rows do not match the model's features", errors)
    return Rows(schema.feature_names, payload)


def _column_errors(
    columns: list[str], schema: ModelSchema, passthrough: list[str], fmt: str
) -> list[dict[str, Any]]:
    names = schema.feature_names
    if not passthrough and columns == names:
        return []  # the usual case: the model's columns, in its order
    present = set(columns)
    features = set(names)
    errors = [
        {"loc": [fmt, name], "msg": "missing feature column"}
        for name in names
        if name not in present
    ]
    errors += [
        {"loc": [fmt, name], "msg": "passthrough column not in the input"}
        for name in passthrough
        if name not in present
    ]
    errors += [
        {"loc": [fmt, name], "msg": "unknown column: not a feature of the model nor passthrough"}
        for name in columns
        if name not in features and name not in passthrough
    ]
    return errors


def _value_errors(rows: Rows, schema: ModelSchema, fmt: str) -> list[dict[str, Any]]:
    strings = schema.string_features
    features = set(schema.feature_names)
    checks = [
        (position, name, name in strings)
        for position, name in enumerate(rows.columns)
        if name in features
    ]
    # All-numeric rows that are plainly fine (ints and floats adding up to a finite number) skip
    # the value-by-value check; any other row gets it, which alone decides what is wrong.
    numeric = None if strings else [position for position, _, _ in checks]
    whole_row = numeric == list(range(len(rows.columns)))
    errors: list[dict[str, Any]] = []
    for i, row in enumerate(rows.data):
        if numeric is not None:
            values = row if whole_row else [row[position] for position in numeric]
            if set(map(type, values)) <= _NUMBER_TYPES and math.isfinite(sum(values)):
                continue
        for position, name, is_string in checks:
            msg = _value_problem(row[position], is_string, schema.allow_nan)
            if msg:
                errors.append({"loc": [fmt, i, name], "msg": msg})
                if len(errors) >= _MOST_ERRORS:
                    return errors
    return errors


#: The most value problems reported (check_rows stops there).
_MOST_ERRORS = 1001
_MISSING = "missing value, and the model does not accept missing values"
_NOT_FINITE = "expected a finite number"
#: The exact types of plainly fine numbers (not bool, a subclass of int).
_NUMBER_TYPES = frozenset((int, float))


def _value_problem(value: Any, is_string: bool, allow_nan: bool) -> str | None:
    if value is None:
        return None if allow_nan else _MISSING
    if is_string:
        return None if isinstance(value, str) else f"expected a category string, got {value!r}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"expected a number, got {value!r}"
    if isinstance(value, float) and not math.isfinite(value):
        return _NOT_FINITE
    return None


def _check_unique(columns: list[str], loc: list[Any]) -> None:
    duplicates = [name for name, count in Counter(columns).items() if count > 1]
    if duplicates:
        raise InputProblem(
            "Duplicate columns",
            [{"loc": [*loc, name], "msg": "duplicate column"} for name in duplicates],
        )


def _ragged(row: Any, width: int) -> str:
    if not isinstance(row, list):
        return "each row must be a list of values"
    return f"row has {len(row)} values, expected {width}"


def _shape(where: str, msg: str) -> InputProblem:
    return InputProblem("Malformed rows", [{"loc": where.split("."), "msg": msg}])
