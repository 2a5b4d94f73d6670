"""Models, traffic and waits for the monitoring tests (browser and integration)."""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from models.artifacts import dump_skops, untrusted_types

PLANS = ["basic", "pro", "team"]


def traffic(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """Rows of x, y ~ N(0, 1) (x moved by `shift` standard deviations) and a plan."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(size=rows) + shift,
            "y": rng.normal(size=rows),
            "plan": rng.choice(PLANS, size=rows, p=[0.5, 0.3, 0.2]),
        }
    )


def numeric_model() -> Any:
    """A gradient-boosted classifier of x and y that accepts missing values."""
    frame = traffic(2_000, seed=100)
    target = np.where(frame["x"] + frame["y"] > 0, "yes", "no")
    return HistGradientBoostingClassifier(max_iter=20).fit(frame[["x", "y"]], target)


def plan_model() -> Any:
    """x and a one-hot `plan` (unknown plans allowed), then logistic regression."""
    frame = traffic(2_000, seed=101)[["x", "plan"]]
    target = np.where(frame["x"] > 0, "yes", "no")
    encoder = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["plan"]), remainder="passthrough"
    )
    return make_pipeline(encoder, LogisticRegression()).fit(frame, target)


def upload_model(api: httpx.Client, estimator: Any, name: str | None = None) -> str:
    """Upload `estimator` as a new version of `name` (default: a new model); returns the name."""
    name = name or f"mon-{uuid.uuid4().hex[:8]}"
    artifact = dump_skops(estimator)
    form = {"trusted_types": ",".join(untrusted_types(artifact))}
    files = {"file": ("model.skops", artifact, "application/octet-stream")}
    created = api.post(f"/v1/models/{name}/versions", files=files, data=form, timeout=180)
    assert created.status_code == 201, created.text
    return name


def put_reference_file(
    api: httpx.Client, name: str, version: int, frame: pd.DataFrame
) -> httpx.Response:
    """PUT `frame` as a CSV reference of the version."""
    files = {"file": ("reference.csv", frame.to_csv(index=False).encode(), "text/csv")}
    return api.put(f"/v1/models/{name}/versions/{version}/reference", files=files, timeout=60)


def score_csv(api: httpx.Client, model: str, frame: pd.DataFrame) -> str:
    """Score `frame` as a CSV file job (the chunk path) until it succeeds; returns its id."""
    body = io.BytesIO(frame.to_csv(index=False).encode())
    response = api.post(
        "/v1/jobs",
        files={"file": ("rows.csv", body, "text/csv")},
        data={"model": model},
        timeout=60,
    )
    assert response.status_code == 202, response.text
    return _succeeded(api, response.json()["id"])


def score_json(api: httpx.Client, model: str, frame: pd.DataFrame) -> str:
    """Score `frame` as one JSON job (the batcher's path) until it succeeds; returns its id."""
    records = frame.astype(object).where(frame.notna(), None).to_dict("split")
    body = {
        "model": model,
        "dataframe_split": {"columns": records["columns"], "data": records["data"]},
    }
    response = api.post("/v1/jobs", json=body, timeout=60)
    assert response.status_code == 202, response.text
    return _succeeded(api, response.json()["id"])


def _succeeded(api: httpx.Client, job_id: str) -> str:
    job = api.get(f"/v1/jobs/{job_id}", params={"wait": 60}, timeout=90).json()
    assert job["status"] == "succeeded", job
    return job_id


def monitoring(api: httpx.Client, name: str, version: int, window: str = "1h") -> dict[str, Any]:
    """The version's monitoring answer."""
    response = api.get(
        f"/v1/models/{name}/versions/{version}/monitoring", params={"window": window}
    )
    assert response.status_code == 200, response.text
    return response.json()


def eventually(check: Callable[[], Any], what: str, seconds: float = 60) -> Any:
    """The first truthy result of `check`, asked until `seconds` pass; fails the test if none."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


def counted(api: httpx.Client, name: str, version: int, rows: int) -> dict[str, Any]:
    """The monitoring answer once it counts at least `rows` rows."""

    def enough() -> dict[str, Any] | None:
        answer = monitoring(api, name, version)
        return answer if answer["rows"] >= rows else None

    return eventually(enough, f"{name}@{version} counts {rows} rows")
