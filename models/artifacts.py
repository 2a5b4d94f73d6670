"""Model artifacts as bytes: the formats inferq takes, and loading the scikit-learn ones.

skops (safe) is the default; joblib and pickle run code when loaded and are for admins only.
ONNX, native XGBoost and native LightGBM load without pickle (see `models.formats`).
"""

from __future__ import annotations

import io
import pickle
from typing import Any, Literal

import joblib
import skops.io as sio

ArtifactFormat = Literal["skops", "joblib", "pickle", "onnx", "xgboost", "lightgbm"]
FORMATS: tuple[ArtifactFormat, ...] = ("skops", "joblib", "pickle", "onnx", "xgboost", "lightgbm")
#: What an upload may say it is: a stored format, or an MLflow model directory holding one.
UploadFormat = Literal["skops", "joblib", "pickle", "onnx", "xgboost", "lightgbm", "mlflow"]
#: Formats that hold a scikit-learn estimator (loaded by `load_artifact`).
SKLEARN_FORMATS = frozenset({"skops", "joblib", "pickle"})
#: Formats whose loading runs arbitrary code: only admins may upload them.
UNSAFE_FORMATS = frozenset({"joblib", "pickle"})
#: File suffix of each format in storage and in a model repository folder (`model.<suffix>`).
EXTENSIONS: dict[ArtifactFormat, str] = {
    "skops": "skops",
    "joblib": "joblib",
    "pickle": "pkl",
    "onnx": "onnx",
    "xgboost": "xgb",
    "lightgbm": "lgb",
}


class ArtifactError(ValueError):
    """The artifact cannot be read in the stated format, or holds types nobody trusted."""


def dump_skops(estimator: Any) -> bytes:
    """Serialize an estimator in the skops format."""
    return sio.dumps(estimator)


def untrusted_types(data: bytes) -> list[str]:
    """Types inside a skops artifact that skops does not trust by default."""
    try:
        return sorted(sio.get_untrusted_types(data=data))
    except Exception as exc:  # skops raises many kinds on malformed input
        raise ArtifactError(f"not a readable skops file: {exc}") from exc


def load_artifact(data: bytes, fmt: ArtifactFormat, trusted_types: list[str]) -> Any:
    """Rebuild an estimator; skops refuses any type outside its defaults and `trusted_types`."""
    try:
        if fmt == "skops":
            return sio.loads(data, trusted=trusted_types)
        if fmt == "joblib":
            return joblib.load(io.BytesIO(data))
        if fmt == "pickle":
            return pickle.loads(data)  # noqa: S301 - admin-only format, checked at upload
    except Exception as exc:  # a corrupt artifact raises whatever its loader trips on
        raise ArtifactError(f"cannot load {fmt} artifact: {exc}") from exc
    raise ArtifactError(f"unknown artifact format {fmt!r}")
