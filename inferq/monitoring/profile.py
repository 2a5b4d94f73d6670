"""Profiles of a column of values: quantile bins for numbers, top categories for strings.

A reference profile is built once from a sample; serving traffic is then counted into the same
bins (`numeric_counts`, `category_counts`), so drift is a comparison of two count vectors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

TOP_CATEGORIES = 50
"""Categories kept by name in a profile; the rest share one `other` bin."""

KNOWN_CATEGORIES = 1000
"""Distinct categories remembered to tell a rare one from one never seen (bounds the size)."""


def as_numbers(values: Any) -> np.ndarray:
    """Values as float64, anything unreadable as NaN (counted missing)."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(
            dtype=np.float64
        )


def as_categories(values: Any) -> tuple[np.ndarray, int]:
    """Present values as strings, and how many were missing (None or NaN)."""
    series = pd.Series(values, dtype=object)
    missing = series.isna().to_numpy()
    present = series[~missing].astype(str).to_numpy(dtype=object)
    return present, int(missing.sum())


def numeric_profile(values: Any, bins: int) -> dict[str, Any]:
    """Quantile bin edges (at most `bins` bins) with counts, range, mean and missing rate."""
    numbers = as_numbers(values)
    present = numbers[~np.isnan(numbers)]
    profile: dict[str, Any] = {
        "type": "number",
        "missing_rate": _share(len(numbers) - len(present), len(numbers)),
    }
    if not len(present):
        return {**profile, "edges": [], "counts": [], "min": None, "max": None, "mean": None}
    edges = np.unique(np.quantile(present, np.linspace(0.0, 1.0, bins + 1)))
    if len(edges) == 1:
        edges = np.array([edges[0], edges[0]])
    counts, _ = numeric_counts(present, edges)
    return {
        **profile,
        "edges": edges.tolist(),
        "counts": counts.tolist(),
        "min": float(present.min()),
        "max": float(present.max()),
        "mean": float(present.mean()),
    }


def numeric_counts(present: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, int]:
    """Counts per bin of non-missing numbers (outside values in the end bins), and how many
    fell outside the reference's range."""
    bins = max(len(edges) - 1, 1)
    index = np.searchsorted(edges[1:-1], present, side="right")
    outside = (
        int(np.count_nonzero((present < edges[0]) | (present > edges[-1]))) if len(edges) else 0
    )
    return np.bincount(index, minlength=bins), outside


def category_profile(values: Any, top: int = TOP_CATEGORIES) -> dict[str, Any]:
    """The `top` most frequent categories and an `other` bin, with counts and missing rate."""
    present, missing = as_categories(values)
    frequencies = pd.Series(present, dtype=object).value_counts(sort=True)
    kept = [str(c) for c in frequencies.index[:top]]
    counts = frequencies.iloc[:top].tolist() + [int(frequencies.iloc[top:].sum())]
    return {
        "type": "string",
        "categories": kept,
        "counts": [int(c) for c in counts],
        "known": sorted(str(c) for c in frequencies.index[:KNOWN_CATEGORIES]),
        "missing_rate": _share(missing, len(present) + missing),
    }


def category_counts(
    present: np.ndarray, categories: list[str], known: set[str]
) -> tuple[np.ndarray, int]:
    """Counts per kept category plus `other` (last), and how many were never seen at all."""
    codes = pd.Index(categories, dtype=object).get_indexer(present).astype(np.int64)
    codes[codes < 0] = len(categories)
    others = present[codes == len(categories)]
    unseen = sum(1 for value in others if value not in known) if len(others) else 0
    return np.bincount(codes, minlength=len(categories) + 1), unseen


def column_profile(values: Any, kind: str, bins: int) -> dict[str, Any]:
    """A numeric or categorical profile by the column's kind (`number` or `string`)."""
    return numeric_profile(values, bins) if kind == "number" else category_profile(values)


def psi(
    expected: list[int] | np.ndarray, actual: list[int] | np.ndarray, epsilon: float = 1e-4
) -> float | None:
    """Population stability index of two count vectors over the same bins (None if either is
    empty): sum of (a - e) * ln(a / e) over bin shares, an empty bin counting as `epsilon`."""
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    if not len(e) or e.sum() <= 0 or a.sum() <= 0:
        return None
    e_share = np.maximum(e / e.sum(), epsilon)
    a_share = np.maximum(a / a.sum(), epsilon)
    return float(np.sum((a_share - e_share) * np.log(a_share / e_share)))


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0
