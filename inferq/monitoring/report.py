"""Drift and data quality of a model version over a window, from the per-minute counts."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import redis

from inferq.monitoring import keys
from inferq.monitoring.profile import psi
from inferq.monitoring.reference import PREDICTION, Reference, ReferenceStore
from inferq.monitoring.serving import BUCKET_SECONDS, MISSING, OUTSIDE
from inferq.schema import ModelSchema
from inferq.timefmt import rfc3339

WINDOWS = {"1h": 3600, "24h": 86_400, "7d": 7 * 86_400}
"""The windows a report may cover, in seconds."""


def window_counts(
    client: redis.Redis, name: str, version: int, ref_id: str, seconds: int, now: float
) -> tuple[Counter[str], list[tuple[int, dict[str, int]]]]:
    """The summed counts of the window's minutes, and each minute's prediction counts."""
    last = int(now // BUCKET_SECONDS)
    minutes = range(last - seconds // BUCKET_SECONDS + 1, last + 1)
    pipe = client.pipeline(transaction=False)
    for minute in minutes:
        pipe.hgetall(keys.bucket(name, version, ref_id, minute))
    totals: Counter[str] = Counter()
    timeline: list[tuple[int, dict[str, int]]] = []
    for minute, raw in zip(minutes, pipe.execute(), strict=True):
        if not raw:
            continue
        bucket = {k.decode(): int(v) for k, v in raw.items()}
        totals.update(bucket)
        shares = {
            k[len(PREDICTION) + 1 :]: v for k, v in bucket.items() if k.startswith(PREDICTION)
        }
        timeline.append((minute * BUCKET_SECONDS, shares))
    return totals, timeline


def column_report(profile: dict[str, Any], name: str, totals: Counter[str]) -> dict[str, Any]:
    """PSI, quality rates and the reference-vs-window histogram of one feature (or predictions)."""
    rows = totals.get("rows", 0)
    bins = len(profile["counts"])
    window = [totals.get(f"{name}|{i}", 0) for i in range(bins)]
    outside = totals.get(f"{name}|{OUTSIDE}", 0)
    report: dict[str, Any] = {
        "type": profile["type"],
        "psi": psi(profile["counts"], window) if rows else None,
        "missing_rate": _rate(totals.get(f"{name}|{MISSING}", 0), rows),
        "reference_missing_rate": profile["missing_rate"],
    }
    histogram: dict[str, Any] = {"reference": profile["counts"], "window": window}
    if profile["type"] == "number":
        report["out_of_range_rate"] = _rate(outside, rows)
        report["reference_range"] = [profile["min"], profile["max"]]
        histogram["edges"] = profile["edges"]
    else:
        report["unseen_rate"] = _rate(outside, rows)
        histogram["categories"] = [*profile["categories"], "other"]
    report["histogram"] = histogram
    return report


def version_report(
    schema: ModelSchema,
    ref: Reference | None,
    totals: Counter[str],
    timeline: list[tuple[int, dict[str, int]]],
) -> dict[str, Any]:
    """The monitoring answer's body (without the model, version and window)."""
    if ref is None:
        empty = {"psi": None, "missing_rate": None, "histogram": None}
        return {
            "rows": 0,
            "reference": None,
            "features": {f.name: {"type": f.type, **empty} for f in schema.features},
            "prediction": {**empty, "timeline": []},
        }
    features = {n: column_report(p, n, totals) for n, p in ref.features.items()}
    prediction: dict[str, Any] = {"psi": None, "histogram": None, "timeline": []}
    if ref.prediction is not None:
        prediction = column_report(ref.prediction, PREDICTION, totals)
        prediction["timeline"] = _timeline(ref.prediction, timeline)
        if ref.prediction["type"] == "string":
            prediction["class_shares"] = _shares(prediction["histogram"])
    return {
        "rows": totals.get("rows", 0),
        "reference": ref.summary(),
        "features": features,
        "prediction": prediction,
    }


def _timeline(profile: dict[str, Any], minutes: list[tuple[int, dict[str, int]]]) -> list[Any]:
    bins = len(profile["counts"])
    return [
        {"at": rfc3339(start), "counts": [counts.get(str(i), 0) for i in range(bins)]}
        for start, counts in minutes
        if counts
    ]


def _shares(histogram: dict[str, Any]) -> dict[str, float]:
    total = sum(histogram["window"])
    return {
        c: (n / total if total else 0.0)
        for c, n in zip(histogram["categories"], histogram["window"], strict=True)
    }


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def monitoring_report(
    client: redis.Redis, schema: ModelSchema, name: str, version: int, window: str
) -> dict[str, Any]:
    """`GET .../monitoring`'s answer: rows, drift and quality of the version over `window`.

    Before any reference exists it says how many rows the provisional one has collected.
    """
    ref = ReferenceStore(client).load(name, version)
    totals: Counter[str] = Counter()
    timeline: list[tuple[int, dict[str, int]]] = []
    if ref is not None:
        totals, timeline = window_counts(
            client, name, version, ref.id, WINDOWS[window], time.time()
        )
    body = version_report(schema, ref, totals, timeline)
    if ref is None:
        collected = client.get(keys.provisional_rows(name, version))
        body["provisional_rows_collected"] = int(collected or 0)
    return {"model": name, "version": version, "window": window, **body}
