"""TensorFlow Serving REST (and KServe v1, the same `:predict`): predict, classify, regress,
model status and metadata.

`:predict` takes the row format (`instances`: lists in feature order, or objects by feature
name) or the columnar one (`inputs`: an object of columns, or a list of rows); `signature_name`
is `predict` (labels or values) or `predict_proba`. `:classify` and `:regress` take `examples`
(objects by feature) with an optional `context` shared by all. KServe v1's `:explain` takes
`:predict`'s body and answers the predictions with each row's per-feature contributions.
Errors are `{"error": "..."}`.
"""

from __future__ import annotations

from typing import Any

import orjson

from api.protocols.answers import Failure
from api.protocols.bodies import bad, column_rows, json_object
from api.protocols.inference import Scored
from inferq.json_rows import Rows, rows_from_payload
from models.outputs import check_outputs
from models.registry import ModelVersion

PROTOCOL = "tfserving"
#: Signatures and the output each scores.
SIGNATURES = {
    "predict": "prediction",
    "serving_default": "prediction",
    "predict_proba": "probabilities",
}
VERBS = ("predict", "classify", "regress", "explain")


def error_body(failure: Failure) -> bytes:
    """`{"error": msg}`."""
    return orjson.dumps({"error": failure.message})


class TFRequest:
    """A `:predict`, `:classify`, `:regress` or `:explain` body, parsed once."""

    def __init__(self, raw: bytes, verb: str) -> None:
        self.verb = verb
        self.body = json_object(raw)
        self.columnar = "inputs" in self.body
        signature = self.body.get("signature_name", "predict")
        if verb == "predict" and signature not in SIGNATURES:
            raise bad(f"unknown signature_name {signature!r}; use predict or predict_proba")
        wants_proba = verb == "classify" or SIGNATURES.get(signature) == "probabilities"
        self.outputs: tuple[str, ...] = ("probabilities",) if wants_proba else ("prediction",)
        if verb == "explain":
            self.outputs = ("prediction", "contributions")

    def rows(self, model: ModelVersion) -> Rows:
        """The request's rows for the model."""
        schema = model.schema
        if self.verb == "classify" and schema.classes is None:
            raise bad(f"model {model.name!r} is a regressor: use :regress or :predict")
        if self.verb == "regress" and schema.classes is not None:
            raise bad(f"model {model.name!r} is a classifier: use :classify or :predict")
        if self.verb in ("classify", "regress"):
            return _examples(self.body)
        if self.verb == "explain":
            check_outputs(schema, self.outputs)
        given = [key for key in ("instances", "inputs") if key in self.body]
        if len(given) != 1:
            raise bad('give exactly one of "instances" (rows) or "inputs" (columns)')
        payload = self.body[given[0]]
        if isinstance(payload, dict):
            return column_rows(payload)
        return rows_from_payload("instances", payload, schema)

    def answer(self, scored: Scored) -> dict[str, Any]:
        """The answer body in TF Serving's shape for the verb and format."""
        if self.verb == "classify":
            labels = [str(label) for label in scored.model.schema.classes or []]
            return {
                "results": [
                    [[label, score] for label, score in zip(labels, row, strict=True)]
                    for row in scored.probabilities()
                ]
            }
        if self.verb == "regress":
            return {"results": scored.predictions()}
        if self.verb == "explain":
            return {"predictions": scored.predictions(), "explanations": explanations(scored)}
        values = (
            scored.probabilities() if self.outputs == ("probabilities",) else scored.predictions()
        )
        return {"outputs": values} if self.columnar else {"predictions": values}


def explanations(scored: Scored) -> list[dict[str, Any]]:
    """Each row's contributions in the model's raw margin: `{"contributions": {feature: value},
    "bias": value}`, adding up to the row's margin. A multiclass model has one set per class,
    so both are keyed by class first."""
    schema = scored.model.schema
    at = {column: i for i, column in enumerate(scored.columns)}
    classes = schema.classes or []
    if len(classes) <= 2:  # a regressor or a binary classifier: one set (workers.scoring)
        features = [(n, at[f"contrib_{n}"]) for n in schema.feature_names]
        bias = at["contrib_bias"]
        return [
            {"contributions": {n: row[i] for n, i in features}, "bias": row[bias]}
            for row in scored.data
        ]
    by_class = {
        str(c): [(n, at[f"contrib_{c}_{n}"]) for n in schema.feature_names] for c in classes
    }
    bias_of = {str(c): at[f"contrib_{c}_bias"] for c in classes}
    return [
        {
            "contributions": {c: {n: row[i] for n, i in pairs} for c, pairs in by_class.items()},
            "bias": {c: row[i] for c, i in bias_of.items()},
        }
        for row in scored.data
    ]


def version_status(versions: list[int]) -> list[dict[str, Any]]:
    """TF Serving's `model_version_status`: every version is available."""
    return [
        {
            "version": str(v),
            "state": "AVAILABLE",
            "status": {"error_code": "OK", "error_message": ""},
        }
        for v in sorted(versions, reverse=True)
    ]


def metadata(model: ModelVersion) -> dict[str, Any]:
    """`GET .../metadata`: the schema as signature_defs, one per signature."""
    schema = model.schema
    strings = schema.string_features
    inputs = {
        name: {"dtype": "DT_STRING" if name in strings else "DT_DOUBLE", "name": name} | _shape(-1)
        for name in schema.feature_names
    }
    label = "DT_STRING" if any(isinstance(c, str) for c in schema.classes or []) else "DT_DOUBLE"
    signatures = {
        "predict": _signature(inputs, {"prediction": {"dtype": label} | _shape(-1)}),
    }
    if schema.classes is not None:
        proba = {"dtype": "DT_DOUBLE"} | _shape(-1, len(schema.classes))
        signatures["predict_proba"] = _signature(inputs, {"probabilities": proba})
    return {
        "model_spec": {"name": model.name, "signature_name": "", "version": str(model.version)},
        "metadata": {"signature_def": {"signature_def": signatures}},
    }


def _signature(inputs: dict[str, Any], outputs: dict[str, Any]) -> dict[str, Any]:
    return {"inputs": inputs, "outputs": outputs, "method_name": "tensorflow/serving/predict"}


def _shape(*sizes: int) -> dict[str, Any]:
    return {"tensor_shape": {"dim": [{"size": str(size)} for size in sizes]}}


def _examples(body: dict[str, Any]) -> Rows:
    """`examples` (objects by feature), each completed by `context`."""
    examples, context = body.get("examples"), body.get("context", {})
    if not isinstance(examples, list) or not isinstance(context, dict):
        raise bad('give "examples": a list of objects by feature (and optionally "context")')
    if not all(isinstance(example, dict) for example in examples):
        raise bad("each example must be an object by feature name")
    return rows_from_payload("dataframe_records", [context | e for e in examples], _NO_SCHEMA)


_NO_SCHEMA: Any = None  # records carry their own column names
