"""The toy data sets the demo models learn from, with snake_case column names."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pandas as pd


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
