"""Model formats: each one module that loads artifact bytes into a `ModelRuntime`."""

from __future__ import annotations

from models.artifacts import SKLEARN_FORMATS, ArtifactFormat
from models.formats.base import FormatError, LoadOptions, ModelRuntime


def load_model(data: bytes, fmt: ArtifactFormat, options: LoadOptions) -> ModelRuntime:
    """The runtime for an artifact; FormatError when it cannot be used as stated.

    Format modules are imported here, on first use, so the API never loads ONNX Runtime,
    XGBoost or LightGBM: only the check process and the workers do.
    """
    if fmt in SKLEARN_FORMATS:
        from models.formats import sklearn_model

        return sklearn_model.load(data, fmt, options)
    if fmt == "onnx":
        from models.formats import onnx_graph

        return onnx_graph.load(data, options)
    if fmt == "xgboost":
        from models.formats import xgb_booster

        return xgb_booster.load(data, options)
    if fmt == "lightgbm":
        from models.formats import lgbm_booster

        return lgbm_booster.load(data, options)
    raise FormatError(f"unknown model format {fmt!r}", "format")


__all__ = ["FormatError", "LoadOptions", "ModelRuntime", "load_model"]
