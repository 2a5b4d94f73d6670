"""Counting scored rows into a reference's bins, per version and minute, in Redis."""

from __future__ import annotations

from typing import Any

import numpy as np

from inferq.monitoring import keys
from inferq.monitoring.profile import as_categories, as_numbers, category_counts, numeric_counts
from inferq.monitoring.reference import PREDICTION, Reference
from inferq.redis_client import Write

BUCKET_SECONDS = 60
"""Serving counts are kept per minute."""

MISSING, OUTSIDE = "m", "o"
"""Count fields besides the bins: missing values; out of range (numbers) or unseen (strings)."""


def fold_counts(ref: Reference, columns: dict[str, Any], predictions: Any | None) -> dict[str, int]:
    """Count one batch's rows into the reference's bins: ``feature|bin``, ``feature|m`` (missing),
    ``feature|o`` (out of range or unseen) and ``rows``; predictions as ``@prediction``."""
    first = next(iter(columns.values()), predictions)
    counts: dict[str, int] = {"rows": len(first) if first is not None else 0}
    for name, profile in ref.features.items():
        _fold_column(counts, name, profile, columns[name], ref)
    if predictions is not None and ref.prediction is not None:
        _fold_column(counts, PREDICTION, ref.prediction, predictions, ref)
    return counts


def _fold_column(
    counts: dict[str, int], name: str, profile: dict[str, Any], values: Any, ref: Reference
) -> None:
    if profile["type"] == "number":
        numbers = as_numbers(values)
        gaps = np.isnan(numbers)
        missing = int(np.count_nonzero(gaps))
        present = numbers[~gaps] if missing else numbers
        if profile["edges"]:
            bins, outside = numeric_counts(present, np.asarray(profile["edges"]))
        else:
            bins, outside = np.zeros(0, dtype=np.int64), len(present)
    else:
        strings, missing = as_categories(values)
        bins, outside = category_counts(strings, profile["categories"], ref.known[name])
    for index in np.flatnonzero(bins):
        counts[f"{name}|{index}"] = int(bins[index])
    if missing:
        counts[f"{name}|{MISSING}"] = missing
    if outside:
        counts[f"{name}|{OUTSIDE}"] = outside


def bucket_write(
    name: str, version: int, ref_id: str, counts: dict[str, int], now: float, ttl: int
) -> Write:
    """Adding one batch's counts to the current minute's bucket, as a pipeline write."""
    key = keys.bucket(name, version, ref_id, int(now // BUCKET_SECONDS))

    def write(pipe: Any) -> None:
        for field, amount in counts.items():
            pipe.hincrby(key, field, amount)
        pipe.expire(key, ttl)

    return write
