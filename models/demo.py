"""Demo models trained on data scikit-learn ships, registered on first start."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from inferq.config import Settings, get_settings
from models.artifacts import dump_skops, untrusted_types
from models.checking import CheckLimits
from models.demo_formats import DemoArtifact, build_iris_onnx, train_wine_lightgbm
from models.registry import DEFAULT_ALIAS
from models.repository import LoadReport, load_repository, write_entry
from models.startup import registry_for


def _snake(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.lower().replace("(cm)", "")).strip("_")


def demo_frame(loader: Callable[..., Any]) -> tuple[pd.DataFrame, pd.Series]:
    """A scikit-learn toy data set as a DataFrame with snake_case columns, and its target."""
    bunch = loader(as_frame=True)
    frame = bunch.data.rename(columns=_snake)
    target = bunch.target
    if hasattr(bunch, "target_names") and bunch.target.dtype.kind in "iu":
        target = pd.Series(bunch.target_names[bunch.target], name="target")
    return frame, target


def train_iris() -> Any:
    """A random forest naming iris species from four measurements."""
    x, y = demo_frame(load_iris)
    return RandomForestClassifier(n_estimators=50, random_state=0).fit(x, y)


def train_diabetes() -> Any:
    """A ridge regression of diabetes progression."""
    x, y = demo_frame(load_diabetes)
    return Ridge(alpha=1.0).fit(x, y)


def train_breast_cancer() -> Any:
    """A scaler + logistic regression pipeline telling malignant from benign tumours."""
    x, y = demo_frame(load_breast_cancer)
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, y)


DEMO_MODELS: dict[str, tuple[Callable[[], Any], str]] = {
    "iris": (train_iris, "Iris species classifier (random forest)"),
    "diabetes": (train_diabetes, "Diabetes progression regressor (ridge)"),
    "breast_cancer": (train_breast_cancer, "Breast cancer classifier (scaler + logistic)"),
}


#: Demo models in other formats: a LightGBM booster and an ONNX graph.
FORMAT_DEMOS: dict[str, tuple[Callable[[], DemoArtifact], str]] = {
    "wine": (train_wine_lightgbm, "Wine cultivar classifier (LightGBM booster)"),
    "iris_onnx": (build_iris_onnx, "Iris species classifier (logistic regression as ONNX)"),
}


def _demo_entry(name: str) -> tuple[bytes, str, dict[str, Any]]:
    """A demo's artifact, format and model.json (shared, with the production alias)."""
    meta: dict[str, Any] = {"shared": True, "aliases": [DEFAULT_ALIAS]}
    if name in DEMO_MODELS:
        train, description = DEMO_MODELS[name]
        artifact = dump_skops(train())
        return (
            artifact,
            "skops",
            {**meta, "description": description, "trusted_types": untrusted_types(artifact)},
        )
    build, description = FORMAT_DEMOS[name]
    artifact, fmt, extra = build()
    return artifact, fmt, {**meta, "description": description, **extra}


def ensure_demo_models(settings: Settings | None = None) -> LoadReport:
    """Train each demo model not registered yet into a repository folder, then load it.

    The demo models take the same path as a team's model repository: `<var_dir>/demo-models/`.
    """
    settings = settings or get_settings()
    registry = registry_for(settings)
    root = settings.var_dir / "demo-models"
    for name in [*DEMO_MODELS, *FORMAT_DEMOS]:
        if registry.exists(name) or (root / name / "1").exists():
            continue
        artifact, fmt, meta = _demo_entry(name)
        write_entry(root, name, 1, fmt, artifact, meta)  # type: ignore[arg-type]
    return load_repository(root, registry, CheckLimits.from_settings(settings))


if __name__ == "__main__":
    print("registered:", ", ".join(ensure_demo_models().added) or "nothing new")
