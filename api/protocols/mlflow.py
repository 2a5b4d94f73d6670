"""MLflow's scoring server protocol: `/invocations` (JSON or CSV), `/ping`, `/health`, `/version`.

JSON bodies hold exactly one of `dataframe_split`, `dataframe_records`, `instances` or `inputs`
(an object of columns, or rows), and optional `params`; `params.outputs` picks `prediction`
(default) or `probabilities`. `text/csv` bodies have a header row. Other media types are 415,
as MLflow answers. Answers are `{"predictions": [...]}`, errors `{"error_code", "message"}`.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson

from api.protocols.answers import Failure
from api.protocols.bodies import bad, column_rows, json_object
from api.protocols.inference import Scored
from inferq.json_rows import ROW_FORMATS, Rows, rows_from_payload
from models.registry import ModelVersion

PROTOCOL = "mlflow"
#: The version `/version` reports: the MLflow scoring protocol this server speaks.
VERSION = "2.0"
MEDIA_TYPES = ("application/json", "text/csv")
_FORMATS = (*ROW_FORMATS, "inputs")
_INVALID = f"Invalid input. The input must be an object with exactly one of {', '.join(_FORMATS)}"
#: MLflow's error codes by HTTP status.
ERROR_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "RESOURCE_DOES_NOT_EXIST",
    413: "BAD_REQUEST",
    415: "BAD_REQUEST",
    429: "REQUEST_LIMIT_EXCEEDED",
    501: "NOT_IMPLEMENTED",
    503: "TEMPORARILY_UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def error_body(failure: Failure) -> bytes:
    """`{"error_code": ..., "message": ...}`."""
    code = ERROR_CODES.get(failure.status, "INTERNAL_ERROR")
    return orjson.dumps({"error_code": code, "message": failure.message})


def media_type(content_type: str) -> str | None:
    """The body's media type if MLflow's scoring server takes it, else None (415)."""
    kind = content_type.split(";")[0].strip().lower()
    return kind if kind in MEDIA_TYPES else None


class InvocationRequest:
    """A JSON or CSV `/invocations` body, parsed once."""

    def __init__(self, raw: bytes, kind: str) -> None:
        self.kind = kind
        self.raw = raw
        self.body: dict[str, Any] = {} if kind == "text/csv" else json_object(raw, _INVALID)
        self.outputs: tuple[str, ...] = _outputs(self.body.get("params"))

    def rows(self, model: ModelVersion) -> Rows:
        """The body's rows for the model."""
        if self.kind == "text/csv":
            return _csv_rows(self.raw, model)
        given = [fmt for fmt in _FORMATS if fmt in self.body]
        if len(given) != 1:
            raise bad(_INVALID)
        fmt, payload = given[0], self.body[given[0]]
        if fmt == "inputs" and isinstance(payload, dict):
            return column_rows(payload)
        return rows_from_payload("instances" if fmt == "inputs" else fmt, payload, model.schema)

    def answer(self, scored: Scored) -> bytes:
        """`{"predictions": [...]}`."""
        wanted = scored.probabilities() if self.outputs == ("probabilities",) else None
        return orjson.dumps({"predictions": wanted or scored.predictions()})


def _outputs(params: Any) -> tuple[str, ...]:
    if params is None:
        return ("prediction",)
    wanted = params.get("outputs", "prediction") if isinstance(params, dict) else None
    if isinstance(wanted, list) and len(wanted) == 1:
        wanted = wanted[0]
    if wanted not in ("prediction", "probabilities"):
        raise bad('params.outputs must be "prediction" or "probabilities"')
    return (wanted,)


def _csv_rows(raw: bytes, model: ModelVersion) -> Rows:
    """CSV with a header row; numeric features' fields read as numbers (empty: missing)."""
    try:
        lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise bad(f"the CSV body cannot be read: {exc}") from exc
    if not lines:
        raise bad("the CSV body is empty: it needs a header row")
    header, records = lines[0], [line for line in lines[1:] if line]
    strings = model.schema.string_features
    numeric = [name not in strings for name in header]
    if any(len(record) != len(header) for record in records):
        raise bad(f"every CSV row must have the header's {len(header)} fields")
    data = [
        [_number(field) if is_number else field for field, is_number in zip(r, numeric)]  # noqa: B905 - lengths checked above
        for r in records
    ]
    return Rows(header, data)


def _number(field: str) -> Any:
    if field == "":
        return None
    try:
        return float(field)
    except ValueError:
        return field  # the value check names it as not a number
