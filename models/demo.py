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
from inferq.redis_client import make_redis
from inferq.storage import Storage
from models.artifacts import dump_skops, untrusted_types
from models.registry import DEFAULT_ALIAS, ModelRegistry
from models.schema import describe


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


def ensure_demo_models(settings: Settings | None = None) -> list[str]:
    """Train and register each demo model that is not registered yet; returns the new ones."""
    settings = settings or get_settings()
    registry = ModelRegistry(make_redis(settings), Storage(settings.data_url))
    added = []
    for name, (train, description) in DEMO_MODELS.items():
        if registry.exists(name):
            continue
        estimator = train()
        artifact = dump_skops(estimator)
        version = registry.register(
            name,
            artifact,
            "skops",
            describe(estimator),
            shared=True,
            trusted_types=untrusted_types(artifact),
            description=description,
        )
        registry.set_alias(name, DEFAULT_ALIAS, version.version)
        added.append(name)
    return added


if __name__ == "__main__":
    print("registered:", ", ".join(ensure_demo_models()) or "nothing new")
