"""MLflow model directories: read `MLmodel`, pick the flavor inferq loads safely, carry the schema.

Only the archive's listing, its `MLmodel` YAML and the chosen flavor's file are read here (no
model code runs): the result is an ordinary artifact of one of inferq's formats, checked and
registered like any upload. A pickle-based flavor comes back as `pickle`, which only admins may
upload; the skops types to trust always come from the uploader, never from the archive.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from dataclasses import dataclass, field
from typing import Any

import orjson
import yaml

from inferq.schema import FeatureType
from models.artifacts import ArtifactFormat

#: The largest archive member read, so a small archive cannot expand without bound.
MAX_MEMBER_BYTES = 1 << 30
_NUMBER_TYPES = {"double", "float", "long", "integer", "boolean"}
#: Flavors whose files inferq may load (python_function alone would run the model's own code).
_KNOWN = ("xgboost", "lightgbm", "sklearn")


class MlflowModelError(ValueError):
    """The archive is not an MLflow model directory inferq can load."""


@dataclass
class MlflowArtifact:
    """The artifact an MLflow model directory holds, in an inferq format, with its schema."""

    format: ArtifactFormat
    artifact: bytes
    flavor: str
    feature_names: list[str] = field(default_factory=list)
    feature_types: dict[str, FeatureType] = field(default_factory=dict)


def read_archive(data: bytes) -> dict[str, bytes]:
    """Every file of a `.zip` or `.tar.gz` archive by its path."""
    if data[:4] == b"PK\x03\x04":
        return _read_zip(data)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            return {
                member.name.lstrip("./"): _tar_member(archive, member)
                for member in archive.getmembers()
                if member.isfile()
            }
    except tarfile.TarError as exc:
        raise MlflowModelError(f"not a .zip or .tar.gz archive: {exc}") from exc


def _read_zip(data: bytes) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            files = {}
            for info in archive.infolist():
                if info.is_dir():
                    continue
                if info.file_size > MAX_MEMBER_BYTES:
                    raise MlflowModelError(f"{info.filename} is larger than inferq reads")
                files[info.filename.lstrip("./")] = archive.read(info)
            return files
    except zipfile.BadZipFile as exc:
        raise MlflowModelError(f"not a readable .zip archive: {exc}") from exc


def _tar_member(archive: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    if member.size > MAX_MEMBER_BYTES:
        raise MlflowModelError(f"{member.name} is larger than inferq reads")
    handle = archive.extractfile(member)
    return handle.read() if handle is not None else b""


def unpack(data: bytes) -> MlflowArtifact:
    """The loadable artifact inside an MLflow model archive; MlflowModelError when none is."""
    return from_files(read_archive(data))


def from_files(files: dict[str, bytes]) -> MlflowArtifact:
    """The loadable artifact of an MLflow model directory given as its files by path."""
    roots = sorted((p for p in files if p == "MLmodel" or p.endswith("/MLmodel")), key=len)
    if not roots:
        raise MlflowModelError("no MLmodel file in the archive")
    prefix = roots[0][: -len("MLmodel")]
    try:
        mlmodel = yaml.safe_load(files[roots[0]]) or {}
    except yaml.YAMLError as exc:
        raise MlflowModelError(f"MLmodel is not YAML: {exc}") from exc
    flavors = mlmodel.get("flavors") or {}
    fmt, path, flavor = _pick_flavor(flavors)
    artifact = _flavor_file(files, prefix, path)
    names, types = _signature(mlmodel.get("signature"))
    return MlflowArtifact(fmt, artifact, flavor, names, types)


def _pick_flavor(flavors: dict[str, Any]) -> tuple[ArtifactFormat, str, str]:
    """The safest flavor inferq loads: ONNX, native boosters, skops, then pickle (admins)."""
    onnx = flavors.get("onnx") or {}
    if onnx.get("data"):
        return "onnx", str(onnx["data"]), "onnx"
    files = {name: _flavor_data(flavor) for name, flavor in flavors.items() if name in _KNOWN}
    if files.get("xgboost", "").endswith((".json", ".ubj", ".xgb")):
        return "xgboost", files["xgboost"], "xgboost"
    if files.get("lightgbm", "").endswith(".lgb"):
        return "lightgbm", files["lightgbm"], "lightgbm"
    for suffixes, fmt in (((".skops",), "skops"), ((".pkl", ".pickle"), "pickle")):
        for name, path in files.items():
            if path.endswith(suffixes):
                return fmt, path, name  # type: ignore[return-value]
    raise MlflowModelError(
        "no flavor inferq can load: it loads onnx, xgboost (.json/.ubj), lightgbm (.lgb), "
        "sklearn saved with skops, and pickled sklearn models (admins only); this model has "
        f"{', '.join(sorted(flavors)) or 'no flavors'}"
    )


def _flavor_data(flavor: Any) -> str:
    if not isinstance(flavor, dict):
        return ""
    return str(flavor.get("data") or flavor.get("pickled_model") or "")


def _flavor_file(files: dict[str, bytes], prefix: str, path: str) -> bytes:
    found = files.get(prefix + path)
    if found is None:
        raise MlflowModelError(f"MLmodel names {path}, which the archive does not hold")
    return found


def _signature(signature: Any) -> tuple[list[str], dict[str, FeatureType]]:
    """Input column names and kinds from a column-based signature (none for tensor ones)."""
    if not isinstance(signature, dict) or not signature.get("inputs"):
        return [], {}
    try:
        columns = orjson.loads(signature["inputs"])
    except orjson.JSONDecodeError as exc:
        raise MlflowModelError(f"the signature's inputs are not JSON: {exc}") from exc
    named = [c for c in columns if isinstance(c, dict) and c.get("name") and c.get("type")]
    if len(named) != len(columns) or any(c["type"] == "tensor" for c in named):
        return [], {}
    names = [str(c["name"]) for c in named]
    types: dict[str, FeatureType] = {
        str(c["name"]): "number" if c["type"] in _NUMBER_TYPES else "string" for c in named
    }
    return names, types
