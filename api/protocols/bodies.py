"""Reading request bodies the same way in every protocol: a JSON object, columns as rows."""

from __future__ import annotations

from typing import Any

import orjson

from inferq.json_rows import Rows
from inferq.problems import InputProblem


def bad(message: str) -> InputProblem:
    """A client mistake in the request (400 in the protocol's shape)."""
    return InputProblem(message, [])


def json_object(raw: bytes, expected: str = "the request must be a JSON object") -> dict[str, Any]:
    """The body as a JSON object; 400 naming the place of malformed JSON, or `expected`."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    if not isinstance(body, dict):
        raise bad(expected)
    return body


def column_rows(payload: dict[str, Any]) -> Rows:
    """Columns given as an object of equally long lists, as rows."""
    columns = list(payload)
    values = [payload[name] for name in columns]
    if not all(isinstance(column, list) for column in values):
        raise bad("each column of inputs must be a list of values")
    if len({len(column) for column in values}) > 1:
        raise bad("the columns of inputs must all have the same length")
    return Rows(columns, [list(row) for row in zip(*values, strict=True)])
