"""Models and artifacts for registry tests, importable by the worker and check processes."""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import pandas as pd
import skops.io as sio
from sklearn.compose import make_column_transformer
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

#: The skops type name of `double`, which skops does not trust by default.
DOUBLE_TYPE = "tests.model_fixtures.double"


def double(values: Any) -> Any:
    """A custom transform: its module must be importable wherever the model loads."""
    return values * 2


def plan_frame() -> tuple[pd.DataFrame, list[str]]:
    """Rows with a categorical `plan` and a numeric `age`, and a yes/no target."""
    frame = pd.DataFrame({"plan": ["basic", "pro", "team"] * 10, "age": np.arange(30.0)})
    target = ["no", "yes", "yes"] * 10
    return frame, target


def categorical_pipeline() -> Any:
    """One-hot encoded `plan` plus `age`, then logistic regression (unknown plans are errors)."""
    frame, target = plan_frame()
    encoder = make_column_transformer((OneHotEncoder(), ["plan"]), remainder="passthrough")
    return make_pipeline(encoder, LogisticRegression()).fit(frame, target)


def doubling_pipeline() -> Any:
    """A pipeline whose first step is the custom (untrusted) `double` function."""
    frame, target = plan_frame()
    numeric = frame[["age"]]
    return make_pipeline(FunctionTransformer(double), LogisticRegression()).fit(numeric, target)


def constant_iris(label: str) -> Any:
    """An iris 'model' that always answers `label`: tells versions apart in results."""
    from sklearn.datasets import load_iris

    from models.demo_data import demo_frame

    frame, target = demo_frame(load_iris)
    return DummyClassifier(strategy="constant", constant=label).fit(frame, target)


def skops_bytes(estimator: Any) -> bytes:
    """The estimator as a skops artifact."""
    return sio.dumps(estimator)


class ExitOnLoad:
    """Unpickling this ends the process at once: stands in for a hostile or crashing artifact."""

    def __reduce__(self) -> tuple[Any, tuple[int]]:
        return (os._exit, (3,))


class SleepOnLoad:
    """Unpickling this sleeps for a minute: stands in for an artifact that hangs."""

    def __reduce__(self) -> tuple[Any, tuple[float]]:
        return (time.sleep, (60.0,))


class HogOnLoad:
    """Unpickling this asks for 16 GiB: stands in for an artifact that eats memory."""

    def __reduce__(self) -> tuple[Any, tuple[int]]:
        return (bytearray, (16 * 1024**3,))
