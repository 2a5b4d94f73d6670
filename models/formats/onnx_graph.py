"""ONNX graphs run by ONNX Runtime: loaded from bytes, one intra-op thread, no spinning.

Features are the graph's inputs (one tensor per feature), or the uploader's `feature_names` for
one `[N, F]` tensor. A classifier's label output becomes `prediction`; its probabilities come
from a plain `[N, C]` tensor, or from the tensor a ZipMap node reads (exposed as an extra graph
output, so rows never pass through Python dictionaries).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto

from inferq.schema import ContributionsMethod, Feature, FeatureType, ModelSchema
from models.formats.base import (
    ContributionsUnsupported,
    Features,
    FormatError,
    LoadOptions,
    as_array,
    labels_of,
)

_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(string)": np.object_,
}
_LABEL_TYPES = ("tensor(int64)", "tensor(string)", "tensor(int32)")
_CLASS_ATTRIBUTES = ("classlabels_strings", "classlabels_int64s", "classlabels_ints")


def load(data: bytes, options: LoadOptions) -> OnnxModel:
    """A session on the graph, after refusing external data and exposing ZipMap's input."""
    try:
        graph_model = onnx.load_model_from_string(data)
    except Exception as exc:  # protobuf raises several kinds on corrupt bytes
        raise FormatError(f"not a readable ONNX model: {exc}") from exc
    if any(_is_external(tensor) for tensor in _tensors(graph_model.graph)):
        raise FormatError("the ONNX model refers to external data files; embed the weights")
    zipmap = _expose_zipmap(graph_model)
    try:
        session = ort.InferenceSession(
            graph_model.SerializeToString(), _session_options(), providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # ONNX Runtime refuses invalid graphs with its own errors
        raise FormatError(f"ONNX Runtime cannot load the model: {exc}") from exc
    outputs = _Outputs.find(session, graph_model, zipmap, options)
    return OnnxModel(session, outputs, options, len(data))


def _session_options() -> ort.SessionOptions:
    """One thread per call and no spinning: a worker process is one of several on the cores."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return options


def _tensors(graph: onnx.GraphProto) -> Iterator[onnx.TensorProto]:
    """Every tensor a graph holds, in subgraphs too."""
    yield from graph.initializer
    yield from (sparse.values for sparse in graph.sparse_initializer)
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            if attribute.HasField("g"):
                yield from _tensors(attribute.g)
            for sub in attribute.graphs:
                yield from _tensors(sub)


def _is_external(tensor: onnx.TensorProto) -> bool:
    return tensor.HasField("data_location") and tensor.data_location == TensorProto.EXTERNAL


@dataclass
class _ZipMap:
    probabilities: str
    classes: list[Any]


def _expose_zipmap(graph_model: onnx.ModelProto) -> _ZipMap | None:
    """Make the tensor a ZipMap turns into dictionaries a graph output of its own."""
    outputs = {output.name for output in graph_model.graph.output}
    for node in graph_model.graph.node:
        if node.op_type == "ZipMap" and node.output[0] in outputs:
            source = node.input[0]
            if source not in outputs:
                graph_model.graph.output.append(
                    onnx.helper.make_tensor_value_info(source, TensorProto.FLOAT, None)
                )
            return _ZipMap(source, _node_classes(node) or [])
    return None


def _node_classes(node: onnx.NodeProto) -> list[Any] | None:
    for attribute in node.attribute:
        if attribute.name in _CLASS_ATTRIBUTES:
            values = onnx.helper.get_attribute_value(attribute)
            return [v.decode() if isinstance(v, bytes) else int(v) for v in values]
    return None


@dataclass
class _Outputs:
    """Which graph outputs hold the label, the probabilities or the value, and the classes."""

    label: str | None
    probabilities: str | None
    value: str | None
    classes: list[Any] | None

    @classmethod
    def find(
        cls,
        session: ort.InferenceSession,
        graph_model: onnx.ModelProto,
        zipmap: _ZipMap | None,
        options: LoadOptions,
    ) -> _Outputs:
        """Label, probabilities and value outputs; classes from the graph, else the uploader."""
        outputs = session.get_outputs()
        label = next((o.name for o in outputs if o.type in _LABEL_TYPES), None)
        plain = [o for o in outputs if o.type in ("tensor(float)", "tensor(double)")]
        probabilities = zipmap.probabilities if zipmap else None
        if probabilities is None and label is not None:
            probabilities = next((o.name for o in plain if len(o.shape) == 2), None)
        if label is None and probabilities is None:
            if not plain:
                raise FormatError("the ONNX model has no numeric or label output to score with")
            return cls(None, None, plain[0].name, None)
        found = (zipmap.classes if zipmap else None) or _graph_classes(graph_model)
        classes = found or (list(options.classes) if options.classes else None)
        if classes is None:
            msg = "the ONNX classifier does not name its classes; give classes"
            raise FormatError(msg, "classes")
        return cls(label, probabilities, None, classes)


def _graph_classes(graph_model: onnx.ModelProto) -> list[Any] | None:
    for node in graph_model.graph.node:
        if node.domain == "ai.onnx.ml" and (found := _node_classes(node)):
            return found
    return None


class OnnxModel:
    """An ONNX Runtime session scoring rows with the graph's own input layout."""

    def __init__(
        self, session: ort.InferenceSession, outputs: _Outputs, options: LoadOptions, size: int
    ) -> None:
        self.session = session
        self.outputs = outputs
        self.size = size
        self.inputs = session.get_inputs()
        self.per_feature = len(self.inputs) > 1 or (
            not options.feature_names and _width(self.inputs[0]) == 1
        )
        if self.per_feature:
            self.names = [i.name for i in self.inputs]
            if options.feature_names and len(options.feature_names) != len(self.names):
                raise FormatError(
                    f"the graph has {len(self.names)} inputs but feature_names names "
                    f"{len(options.feature_names)}",
                    "feature_names",
                )
        else:
            self.names = _matrix_names(self.inputs[0], options.feature_names)
        self.string_inputs = {i.name for i in self.inputs if i.type == "tensor(string)"}
        self.accepts_arrays = not self.string_inputs

    def describe(self, feature_types: dict[str, FeatureType]) -> ModelSchema:
        """Features from the graph inputs (string tensors are `string` features)."""
        strings = self.string_inputs if self.per_feature else set()
        classes = self.outputs.classes
        return ModelSchema(
            features=[Feature(n, "string" if n in strings else "number") for n in self.names],
            task="classification" if classes is not None else "regression",
            classes=classes,
        )

    def _run(self, features: Features, names: list[str]) -> list[Any]:
        return self.session.run(names, self._feeds(features))

    def _feeds(self, features: Features) -> dict[str, np.ndarray]:
        if not self.per_feature:
            source = self.inputs[0]
            return {source.name: as_array(features, _DTYPES.get(source.type, np.float32))}
        feeds = {}
        for position, source in enumerate(self.inputs):
            column = (
                features.iloc[:, position].to_numpy()
                if hasattr(features, "iloc")
                else np.asarray(features)[:, position]
            )
            dtype = _DTYPES.get(source.type, np.float32)
            if dtype is np.object_:
                column = column.astype(str).astype(object)
            else:
                column = column.astype(dtype)
            feeds[source.name] = column.reshape(-1, 1) if len(source.shape) == 2 else column
        return feeds

    def predict(self, features: Features) -> np.ndarray:
        """The label output for classifiers, the value output for regressors."""
        if self.outputs.value is not None:
            return np.asarray(self._run(features, [self.outputs.value])[0]).reshape(-1)
        if self.outputs.label is not None:
            return np.asarray(self._run(features, [self.outputs.label])[0]).reshape(-1)
        return labels_of(self.predict_proba(features), self.outputs.classes or [])

    def predict_proba(self, features: Features) -> np.ndarray:
        """The probabilities tensor, `[N, classes]`."""
        if self.outputs.probabilities is None:
            raise ValueError("the ONNX model has no probability output")
        found = self._run(features, [self.outputs.probabilities])[0]
        return np.asarray(found, dtype=np.float64).reshape(len(found), -1)

    def contributions(
        self, features: Features, method: ContributionsMethod = "exact"
    ) -> np.ndarray:
        """Not available: an ONNX graph's structure is not read back into trees or weights."""
        raise ContributionsUnsupported("ONNX models")

    def memory_bytes(self) -> int:
        """About twice the serialized graph."""
        return 2 * self.size


def _width(source: Any) -> int | None:
    shape = source.shape
    if len(shape) == 1:
        return 1
    return shape[-1] if isinstance(shape[-1], int) else None


def _matrix_names(source: Any, given: list[str]) -> list[str]:
    if not given:
        raise FormatError(
            f"the graph takes one tensor {source.name!r} of all features; give feature_names",
            "feature_names",
        )
    width = _width(source)
    if width is not None and width != len(given):
        raise FormatError(
            f"the graph's input {source.name!r} has {width} features but feature_names names "
            f"{len(given)}",
            "feature_names",
        )
    return list(given)
