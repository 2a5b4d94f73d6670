"""Demo models trained on data scikit-learn ships, registered on first start."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from models.artifacts import dump_skops, untrusted_types
from models.demo_data import demo_frame
from models.demo_formats import DemoArtifact, build_iris_onnx, train_wine_lightgbm
from models.registry import DEFAULT_ALIAS
from models.repository import write_entry


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


def write_demo_models(root: Path, registered: Callable[[str], bool]) -> None:
    """Train or build each demo model that is neither `registered` nor written yet into a
    repository folder under `root`, the same layout a team's model repository has."""
    for name in [*DEMO_MODELS, *FORMAT_DEMOS]:
        if registered(name) or (root / name / "1").exists():
            continue
        artifact, fmt, meta = _demo_entry(name)
        write_entry(root, name, 1, fmt, artifact, meta)  # type: ignore[arg-type]
