"""Demo models trained on data scikit-learn ships, registered on first start."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from models.artifacts import dump_skops, untrusted_types
from models.registry import DEFAULT_ALIAS
from models.repository import write_entry


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


def write_demo_models(root: Path, registered: Callable[[str], bool]) -> None:
    """Train each demo model that is neither `registered` nor written yet into a repository
    folder under `root`, the same layout a team's model repository has."""
    for name, (train, description) in DEMO_MODELS.items():
        if registered(name) or (root / name / "1").exists():
            continue
        artifact = dump_skops(train())
        meta = {
            "description": description,
            "trusted_types": untrusted_types(artifact),
            "shared": True,
            "aliases": [DEFAULT_ALIAS],
        }
        write_entry(root, name, 1, "skops", artifact, meta)
