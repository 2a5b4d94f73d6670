"""Open Inference Protocol v2 (KServe v2, Triton, MLServer): infer, metadata and health.

Inputs are one 2-D tensor `[N, F]` in the model's feature order, or one 1-D tensor per feature
named by it (MLServer's `pd` content type); BYTES carries category strings. Outputs are named
`predict`/`predict_proba` (MLServer's names) or `prediction`/`probabilities`, in JSON or, asked
for with `binary_data`/`binary_data_output`, in the binary tensor extension (`api.protocols.
tensors`). Errors are `{"error": "..."}`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
from starlette.requests import Request
from starlette.responses import Response

from api.protocols.answers import Failure
from api.protocols.bodies import bad
from api.protocols.inference import Scored
from api.protocols.tensors import HEADER_LENGTH, TensorReader, encode_binary, split_body
from inferq.json_rows import MatrixRows, Rows
from models.registry import ModelVersion

PROTOCOL = "v2"
#: Output names clients may ask for, and what each is.
OUTPUTS = {
    "predict": "prediction",
    "prediction": "prediction",
    "predict_proba": "probabilities",
    "probabilities": "probabilities",
}
#: The 2-D alternative input's name in the metadata (any name is accepted).
MATRIX_INPUT = "input-0"


def error_body(failure: Failure) -> bytes:
    """`{"error": msg}`."""
    return orjson.dumps({"error": failure.message})


class V2Request:
    """An infer request's header and binary part, read once the body is in."""

    def __init__(self, raw: bytes, header_length: str | None) -> None:
        self.header, binary = split_body(raw, header_length)
        self.binary = binary
        self.wanted = _wanted_outputs(self.header)

    @property
    def outputs(self) -> tuple[str, ...]:
        """The outputs to score: `prediction` and/or `probabilities`."""
        return tuple(dict.fromkeys(OUTPUTS[name] for name, _ in self.wanted))

    def rows(self, model: ModelVersion) -> Rows | MatrixRows:
        """The inputs as rows for the model: one `[N, F]` tensor (kept as a matrix when the model
        takes only numbers), or one tensor per feature."""
        inputs = self.header.get("inputs")
        if not isinstance(inputs, list) or not inputs:
            raise bad("the request needs a non-empty list of inputs")
        reader = TensorReader(self.binary)
        tensors = {}
        for tensor in inputs:
            shape, values = reader.values(tensor)
            tensors[tensor["name"]] = (shape, values)
        names = model.schema.feature_names
        if len(tensors) == 1 and next(iter(tensors)) not in names:
            name, tensor = next(iter(tensors.items()))
            return _matrix_rows(name, tensor, names, not model.schema.string_features)
        return _column_rows(tensors, names)

    def answer(self, scored: Scored) -> Response:
        """The infer response, in JSON or with binary outputs as asked."""
        body: dict[str, Any] = {
            "model_name": scored.model.name,
            "model_version": str(scored.model.version),
            "outputs": [],
        }
        if isinstance(self.header.get("id"), str):
            body["id"] = self.header["id"]
        binary: list[bytes] = []
        for name, as_binary in self.wanted:
            shape, datatype, values = _output(scored, OUTPUTS[name])
            tensor: dict[str, Any] = {"name": name, "shape": shape, "datatype": datatype}
            if as_binary:
                raw = encode_binary(values, datatype)
                tensor["parameters"] = {"binary_data_size": len(raw)}
                binary.append(raw)
            else:
                tensor["data"] = values
            body["outputs"].append(tensor)
        header = orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
        if not binary:
            return Response(header, media_type="application/json")
        return Response(
            b"".join([header, *binary]),
            media_type="application/octet-stream",
            headers={HEADER_LENGTH: str(len(header))},
        )


def read_request(raw: bytes, request: Request) -> V2Request:
    """Parse an infer body (400 in the protocol's shape when it is not one)."""
    return V2Request(raw, request.headers.get(HEADER_LENGTH))


def metadata(model: ModelVersion, versions: list[int]) -> dict[str, Any]:
    """Model metadata: one input per feature, the 2-D `input-0` alternative, the outputs."""
    schema = model.schema
    strings = schema.string_features
    inputs = [
        {"name": name, "datatype": "BYTES" if name in strings else "FP64", "shape": [-1]}
        for name in schema.feature_names
    ]
    inputs.append({"name": MATRIX_INPUT, "datatype": "FP64", "shape": [-1, len(inputs)]})
    label = "BYTES" if any(isinstance(c, str) for c in schema.classes or []) else "FP64"
    outputs = [{"name": "predict", "datatype": label, "shape": [-1]}]
    if schema.classes is not None:
        classes = len(schema.classes)
        outputs.append({"name": "predict_proba", "datatype": "FP64", "shape": [-1, classes]})
    return {
        "name": model.name,
        "versions": [str(v) for v in versions],
        "platform": f"inferq-{model.format}",
        "inputs": inputs,
        "outputs": outputs,
        "parameters": {"classes": schema.classes, "task": schema.task},
    }


def _wanted_outputs(header: dict[str, Any]) -> list[tuple[str, bool]]:
    """(name, binary?) of each output asked for; `predict` alone when none is named."""
    parameters = header.get("parameters") or {}
    all_binary = isinstance(parameters, dict) and parameters.get("binary_data_output") is True
    outputs = header.get("outputs")
    if outputs is None:
        return [("predict", all_binary)]
    if not isinstance(outputs, list) or not outputs:
        raise bad("outputs must be a non-empty list of {name}")
    wanted = []
    for output in outputs:
        name = output.get("name") if isinstance(output, dict) else None
        if name not in OUTPUTS:
            raise bad(f"unknown output {name!r}; the outputs are {', '.join(OUTPUTS)}")
        own = output.get("parameters") or {}
        binary = own.get("binary_data", all_binary) if isinstance(own, dict) else all_binary
        wanted.append((name, binary is True))
    return wanted


def _matrix_rows(
    name: str, tensor: tuple[list[int], np.ndarray], names: list[str], numeric: bool
) -> Rows | MatrixRows:
    """The `[N, F]` tensor's rows: a float64 matrix when the tensor and the model's features are
    all numbers, else lists (category strings in a BYTES tensor)."""
    shape, values = tensor
    width = len(names)
    if len(shape) == 1 and shape[0] == width:
        shape = [1, width]  # one row given flat
    if len(shape) != 2:
        raise bad(f"input {name!r} must be [rows, {width}] (or name one input per feature)")
    if shape[1] != width:
        raise bad(
            f"input {name!r} has {shape[1]} features per row; the model expects {width}: "
            + ", ".join(names)
        )
    if numeric and values.dtype == np.float64:
        return MatrixRows(list(names), values.reshape(-1, width))
    flat = _values(values)
    return Rows(list(names), [flat[i : i + width] for i in range(0, len(flat), width)])


def _column_rows(tensors: dict[str, tuple[list[int], np.ndarray]], names: list[str]) -> Rows:
    unknown = [name for name in tensors if name not in names]
    missing = [name for name in names if name not in tensors]
    if unknown or missing:
        raise bad(
            f"inputs must be one [rows, {len(names)}] tensor or one per feature; "
            f"unknown: {unknown or 'none'}, missing: {missing or 'none'}"
        )
    lengths = {values.size for _, values in tensors.values()}
    if len(lengths) > 1:
        raise bad("the inputs, one per feature, must all have the same number of rows")
    columns = [_values(tensors[name][1]) for name in names]
    return Rows(list(names), [list(row) for row in zip(*columns, strict=True)])


def _values(values: np.ndarray) -> list[Any]:
    """A tensor's values as Python values, NaN as a missing value (null in a JSON job)."""
    listed = values.tolist()
    if values.dtype != object and np.isnan(values).any():
        return [None if value != value else value for value in listed]  # NaN != NaN
    return listed


def _output(scored: Scored, kind: str) -> tuple[list[int], str, list[Any]]:
    rows = scored.row_count
    if kind == "probabilities":
        if scored.model.schema.classes is None:
            raise bad(f"model {scored.model.name!r} is a regressor: it has no predict_proba")
        proba = scored.probabilities()
        width = len(scored.model.schema.classes)
        return [rows, width], "FP64", [value for row in proba for value in row]
    values = scored.predictions()
    kinds = set(map(type, values))  # one pass in C: a generator per check cost ~60 us a 1,000
    if str in kinds:
        return [rows], "BYTES", [str(value) for value in values]
    if kinds <= {int}:
        return [rows], "INT64", values
    return [rows], "FP64", values
