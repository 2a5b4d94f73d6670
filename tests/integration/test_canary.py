"""Canary splits on an alias: each job resolves to one version, promote, roll back, history."""

from __future__ import annotations

import uuid

import httpx
import pytest

from models.artifacts import untrusted_types
from models.routing import canary_bucket
from tests.helpers import assert_problem, demo_rows, results_frame, submit, wait_for
from tests.model_fixtures import categorical_pipeline, constant_iris, skops_bytes
from tests.stack import Stack


def upload(api: httpx.Client, name: str, artifact: bytes) -> int:
    """Register an artifact as the model's next version; its number."""
    files = {"file": ("model.skops", artifact, "application/octet-stream")}
    trusted = {"trusted_types": ",".join(untrusted_types(artifact))}
    created = api.post(f"/v1/models/{name}/versions", files=files, data=trusted, timeout=180)
    assert created.status_code == 201, created.text
    return int(created.json()["version"])


@pytest.fixture(scope="module")
def two_versions(stack: Stack) -> str:
    """A model whose version 1 always answers setosa and version 2 always virginica."""
    name = f"canary-{uuid.uuid4().hex[:8]}"
    with stack.client(timeout=180) as api:
        assert upload(api, name, skops_bytes(constant_iris("setosa"))) == 1
        assert upload(api, name, skops_bytes(constant_iris("virginica"))) == 2
    return name


def one_row() -> dict:
    return {"dataframe_records": demo_rows("iris", 1).to_dict("records")}


def test_each_job_records_the_version_its_id_chose_and_is_scored_by_it(
    api: httpx.Client, two_versions: str
) -> None:
    """At 10%, every one-row job gets the version the choice function picks for its id, says
    whether it was the canary, and is scored by that version."""
    name = two_versions
    split = {"version": 1, "canary": {"version": 2, "percent": 10}}
    put = api.put(f"/v1/models/{name}/aliases/production", json=split)
    assert put.status_code == 200, put.text
    assert put.json()["traffic"]["production"] == split
    jobs = [submit(api, {"model": name, **one_row()}) for _ in range(300)]
    for job in jobs:
        expected = canary_bucket(job["id"]) < 1000
        assert job["model"]["canary"] is expected
        assert job["model"]["version"] == (2 if expected else 1)
    share = sum(job["model"]["canary"] for job in jobs) / len(jobs)
    assert 0.03 <= share <= 0.2, share  # 300 draws of 10%: within 3.5 standard deviations
    canaries = [job for job in jobs if job["model"]["canary"]]
    for job in [*canaries[:3], jobs[0]]:
        assert wait_for(api, job["id"])["status"] == "succeeded"
        label = "virginica" if job["model"]["canary"] else "setosa"
        assert results_frame(api, job["id"])["prediction"].tolist() == [label]
    metrics = api.get("/metrics").text
    assert f'inferq_version_rows_scored_total{{model="{name}",version="2"}}' in metrics
    assert f'inferq_version_job_duration_seconds_count{{model="{name}",version="1"}}' in metrics


def test_a_retry_with_the_same_idempotency_key_gets_the_same_version(
    api: httpx.Client, two_versions: str
) -> None:
    """The choice is seeded by the Idempotency-Key: the key's bucket decides the version."""
    name = two_versions
    split = {"version": 1, "canary": {"version": 2, "percent": 50}}
    assert api.put(f"/v1/models/{name}/aliases/production", json=split).status_code == 200
    seen = set()
    for n in range(12):
        key = f"retry-{uuid.uuid4().hex}-{n}"
        first = submit(api, {"model": name, **one_row()}, headers={"Idempotency-Key": key})
        canary = canary_bucket(f"inferq:idem:default:{key}") < 5000
        assert first["model"]["canary"] is canary
        seen.add(canary)
    assert seen == {True, False}


def test_a_synchronous_request_follows_the_canary(api: httpx.Client, two_versions: str) -> None:
    """A TF Serving predict on the alias resolves through the split too (100%: the canary)."""
    name = two_versions
    split = {"version": 1, "canary": {"version": 2, "percent": 100}}
    assert api.put(f"/v1/models/{name}/aliases/production", json=split).status_code == 200
    answer = api.post(f"/v1/models/{name}:predict", json={"instances": [[5.1, 3.5, 1.4, 0.2]]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == ["virginica"]


def test_promote_moves_the_alias_and_a_put_of_the_old_body_rolls_back(
    api: httpx.Client, two_versions: str
) -> None:
    """Promote makes the canary the version and clears the split; PUT of the earlier body
    restores it; the history lists each change with who made it."""
    name = two_versions
    before = {"version": 1, "canary": {"version": 2, "percent": 25.5}}
    assert api.put(f"/v1/models/{name}/aliases/production", json=before).status_code == 200
    promoted = api.post(f"/v1/models/{name}/aliases/production/promote")
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["traffic"]["production"] == {"version": 2}
    assert submit(api, {"model": name, **one_row()})["model"] == {
        "name": name,
        "version": 2,
        "canary": False,
    }
    assert_problem(api.post(f"/v1/models/{name}/aliases/production/promote"), 409, "canary")
    history = api.get(f"/v1/models/{name}/history").json()["data"]
    assert history[0]["action"] == "promote" and history[0]["by"]
    assert history[0]["before"] == before and history[0]["after"] == {"version": 2}
    rolled = api.put(f"/v1/models/{name}/aliases/production", json=history[0]["before"])
    assert rolled.json()["traffic"]["production"] == before
    assert api.get(f"/v1/models/{name}/history").json()["data"][0]["after"] == before


def test_bad_splits_answer_422_naming_the_field(api: httpx.Client, two_versions: str) -> None:
    """A percent outside 0-100, a missing version, or one of other features: 422."""
    name = two_versions
    url = f"/v1/models/{name}/aliases/staging"
    for percent in (-1, 100.5):
        body = {"version": 1, "canary": {"version": 2, "percent": percent}}
        assert_problem(api.put(url, json=body), 422, "percent")
    assert_problem(
        api.put(url, json={"version": 1, "canary": {"version": 99, "percent": 5}}),
        422,
        "canary",
        "no version 99",
    )
    assert_problem(api.put(url, json={"version": 1, "shadow": 98}), 422, "shadow")
    other = upload(api, name, skops_bytes(categorical_pipeline()))
    refused = assert_problem(
        api.put(url, json={"version": 1, "shadow": other}), 422, "shadow", "petal_length"
    )
    assert refused["errors"][0]["loc"] == ["body", "shadow"]
    assert api.get(f"/v1/models/{name}").json()["traffic"].get("staging") is None
