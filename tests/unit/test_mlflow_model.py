"""Reading MLflow model directories: the flavor picked, the schema carried, nothing trusted."""

from __future__ import annotations

import io
import zipfile

import pytest
import yaml

from models.mlflow_model import MlflowModelError, from_files, unpack

SIGNATURE = {
    "inputs": '[{"type": "double", "name": "age", "required": true},'
    ' {"type": "string", "name": "plan", "required": true}]'
}


def _mlmodel(flavors: dict[str, object], signature: object = None) -> bytes:
    return yaml.safe_dump({"flavors": flavors, "signature": signature}).encode()


def test_the_safest_flavor_is_picked_and_the_signature_gives_the_schema() -> None:
    """ONNX wins over a pickled sklearn flavor; the signature names features and kinds."""
    flavors = {
        "sklearn": {"pickled_model": "model.pkl", "serialization_format": "cloudpickle"},
        "onnx": {"data": "model.onnx"},
        "python_function": {"loader_module": "mlflow.onnx"},
    }
    files = {
        "m/MLmodel": _mlmodel(flavors, SIGNATURE),
        "m/model.onnx": b"graph",
        "m/model.pkl": b"",
    }
    found = from_files(files)
    assert (found.format, found.artifact, found.flavor) == ("onnx", b"graph", "onnx")
    assert found.feature_names == ["age", "plan"]
    assert found.feature_types == {"age": "number", "plan": "string"}


def test_skops_types_listed_in_mlmodel_are_not_carried_over() -> None:
    """A skops-saved flavor is `skops`; its own list of trusted types is ignored."""
    flavors = {
        "lightgbm": {
            "data": "model.skops",
            "serialization_format": "skops",
            "skops_trusted_types": ["builtins.eval"],
        }
    }
    found = from_files({"MLmodel": _mlmodel(flavors), "model.skops": b"zip"})
    assert found.format == "skops" and not hasattr(found, "trusted_types")


def test_pickled_flavors_come_back_as_pickle() -> None:
    """cloudpickle/pickle sklearn models are `pickle`, which only admins may upload."""
    flavors = {"sklearn": {"pickled_model": "model.pkl", "serialization_format": "cloudpickle"}}
    assert from_files({"MLmodel": _mlmodel(flavors), "model.pkl": b"x"}).format == "pickle"


def test_a_directory_without_a_loadable_flavor_names_its_flavors() -> None:
    """A pyfunc-only model (its own Python code) is refused."""
    flavors = {"python_function": {"loader_module": "mlflow.pyfunc.model"}}
    with pytest.raises(MlflowModelError, match="python_function"):
        from_files({"MLmodel": _mlmodel(flavors)})


def test_archives_without_mlmodel_or_not_archives_are_refused() -> None:
    """A zip without MLmodel and bytes that are no archive both raise MlflowModelError."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model.lgb", "tree")
    with pytest.raises(MlflowModelError, match="no MLmodel"):
        unpack(buffer.getvalue())
    with pytest.raises(MlflowModelError, match="archive"):
        unpack(b"just some bytes")
