"""Example answers of the monitoring routes, for /openapi.json."""

from __future__ import annotations

from typing import Any

_REFERENCE = {
    "model": "churn",
    "version": 3,
    "id": "5f0c2a9b1d3e",
    "source": "file",
    "provisional": False,
    "job": None,
    "rows": 50_000,
    "created_at": "2026-12-07T10:00:00.000Z",
    "features": {
        "tenure_months": {
            "type": "number",
            "missing_rate": 0.0,
            "edges": [0.0, 2.0, 5.0, 9.0, 14.0, 20.0, 27.0, 35.0, 45.0, 57.0, 72.0],
            "counts": [5000] * 10,
            "min": 0.0,
            "max": 72.0,
            "mean": 29.4,
        },
        "plan": {
            "type": "string",
            "missing_rate": 0.0,
            "categories": ["basic", "pro", "team"],
            "counts": [25_000, 15_000, 10_000, 0],
        },
    },
}
_REPORT = {
    "model": "churn",
    "version": 3,
    "window": "1h",
    "rows": 12_000,
    "reference": {k: _REFERENCE[k] for k in ("id", "source", "provisional", "job", "rows")},
    "features": {
        "tenure_months": {
            "type": "number",
            "psi": 0.31,
            "missing_rate": 0.0,
            "reference_missing_rate": 0.0,
            "out_of_range_rate": 0.02,
            "reference_range": [0.0, 72.0],
            "histogram": {
                "edges": _REFERENCE["features"]["tenure_months"]["edges"],  # type: ignore[index]
                "reference": [5000] * 10,
                "window": [300, 400, 500, 700, 900, 1200, 1500, 1900, 2200, 2400],
            },
        }
    },
    "prediction": {
        "type": "string",
        "psi": 0.04,
        "missing_rate": 0.0,
        "reference_missing_rate": 0.0,
        "unseen_rate": 0.0,
        "histogram": {
            "categories": ["no", "yes", "other"],
            "reference": [40_000, 10_000, 0],
            "window": [9_300, 2_700, 0],
        },
        "class_shares": {"no": 0.775, "yes": 0.225, "other": 0.0},
        "timeline": [{"at": "2026-12-07T10:41:00.000Z", "counts": [160, 40, 0]}],
    },
}
_ALERT = {
    "model": "churn",
    "psi_threshold": 0.2,
    "min_rows": 1000,
    "window": "1h",
    "webhook": {"url": "https://ops.example.com/drift"},
}


def example(body: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    """A 200 answer's example, as a route's `responses` entry."""
    return {200: {"content": {"application/json": {"example": body}}}}


REFERENCE = example(_REFERENCE)
REPORT = example(_REPORT)
ALERT = example(_ALERT)
