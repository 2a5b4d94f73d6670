"""Small helpers shared by the integration tests."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

from inferq.api_keys import KeyStore
from models.demo import DEMO_MODELS
from models.demo_data import demo_frame

if TYPE_CHECKING:
    from tests.stack import Stack

LOADERS = {"iris": load_iris, "diabetes": load_diabetes, "breast_cancer": load_breast_cancer}


def demo_rows(name: str, count: int, seed: int = 0) -> pd.DataFrame:
    """`count` rows of a demo model's data set, sampled reproducibly."""
    frame, _ = demo_frame(LOADERS[name])
    return frame.sample(n=count, random_state=seed, replace=count > len(frame)).reset_index(
        drop=True
    )


def reference_model(name: str) -> Any:
    """The demo model trained the same way inferq trains it (training is deterministic)."""
    train, _ = DEMO_MODELS[name]
    return train()


def submit(api: httpx.Client, body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """POST a job, assert it was accepted, return the job object."""
    response = api.post("/v1/jobs", json=body, **kwargs)
    assert response.status_code == 202, response.text
    return response.json()


def wait_for(api: httpx.Client, job_id: str, seconds: float = 60) -> dict[str, Any]:
    """Long-poll until the job ends; fails the test if it has not ended in time."""
    job = api.get(f"/v1/jobs/{job_id}", params={"wait": seconds}).json()
    assert job["status"] in {"succeeded", "failed", "cancelled"}, job
    return job


def results_frame(api: httpx.Client, job_id: str) -> pd.DataFrame:
    """The job's results (JSON format) as a DataFrame."""
    response = api.get(f"/v1/jobs/{job_id}/results")
    assert response.status_code == 200, response.text
    table = response.json()
    return pd.DataFrame(table["data"], columns=table["columns"])


def assert_problem(response: httpx.Response, status: int, *mentions: str) -> dict[str, Any]:
    """The answer is problem+json with `status` and its text names every one of `mentions`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    text = response.text
    for mention in mentions:
        assert mention in text, f"{mention!r} not in {text}"
    return body


def as_float_array(values: Any) -> np.ndarray:
    """Values as a float array for tolerant comparisons."""
    return np.asarray(values, dtype=float)


class TenantClients:
    """Makes HTTP clients calling with fresh API keys of other tenants; revokes them on close."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.keys = KeyStore(stack.redis())
        self.made: list[tuple[str, httpx.Client]] = []

    def __call__(
        self, tenant: str | None = None, scopes: tuple[str, ...] = ("jobs:write", "jobs:read")
    ) -> httpx.Client:
        """A client with a new key of `tenant` (default: a new tenant of its own) and `scopes`."""
        record, key = self.keys.create(tenant or new_tenant(), list(scopes), name="test")
        client = self.stack.client(key, timeout=30)
        client.tenant = record.tenant  # type: ignore[attr-defined]  # for the test's messages
        client.key_id = record.id  # type: ignore[attr-defined]
        self.made.append((record.id, client))
        return client

    def close(self) -> None:
        """Close every client and revoke its key."""
        for key_id, client in self.made:
            client.close()
            self.keys.revoke(key_id)


def new_tenant() -> str:
    """A tenant name no other test uses."""
    return f"t-{secrets.token_hex(4)}"
