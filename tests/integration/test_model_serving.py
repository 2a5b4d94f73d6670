"""Serving model versions: alias moves without restarts, and a registry that outlives processes."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from tests.helpers import assert_problem, demo_rows, results_frame, submit, wait_for
from tests.integration.test_model_uploads import upload
from tests.model_fixtures import categorical_pipeline, constant_iris, plan_frame, skops_bytes
from tests.stack import Stack


def _rows(count: int = 5) -> dict[str, Any]:
    return {"dataframe_records": demo_rows("iris", count).to_dict("records")}


def _predictions(client: httpx.Client, job: dict[str, Any]) -> set[str]:
    assert wait_for(client, job["id"])["status"] == "succeeded"
    return set(results_frame(client, job["id"])["prediction"])


def test_an_alias_move_reaches_new_jobs_while_old_ones_keep_their_version(
    isolated_stack: Stack,
) -> None:
    """A job queued before `production` moves is scored with the version it resolved to; jobs
    after the move get the new one, and a running worker sees later moves without a restart."""
    with isolated_stack.api_client(timeout=60) as client:
        v1 = upload(client, "flowers", skops_bytes(constant_iris("setosa")), alias="production")
        assert v1.status_code == 201, v1.text
        before = submit(client, {"model": "flowers", **_rows()})
        assert upload(client, "flowers", skops_bytes(constant_iris("virginica"))).status_code == 201
        moved = client.put("/v1/models/flowers/aliases/production", json={"version": 2})
        assert moved.status_code == 200
        after = submit(client, {"model": "flowers", **_rows()})
        assert (before["model"]["version"], after["model"]["version"]) == (1, 2)
        worker = isolated_stack.start_worker(concurrency=1)
        assert _predictions(client, before) == {"setosa"}
        assert _predictions(client, after) == {"virginica"}
        client.put("/v1/models/flowers/aliases/production", json={"version": 1})
        back = submit(client, {"model": "flowers@production", **_rows()})
        assert back["model"]["version"] == 1 and _predictions(client, back) == {"setosa"}
        assert worker in isolated_stack.workers and worker.poll() is None  # never restarted


def test_rows_are_checked_against_the_version_an_alias_moved_to(api: httpx.Client) -> None:
    """The API keeps the version a reference meant last time and submits in one step that
    checks it still does. When `production` moves to a version with other features, the next
    job's rows are checked against the new version, and rows for the old features get 422."""
    name = f"moving_{secrets.token_hex(3)}"
    assert upload(api, name, skops_bytes(constant_iris("setosa")), alias="production").is_success
    assert submit(api, {"model": name, **_rows()})["model"]["version"] == 1
    assert upload(api, name, skops_bytes(categorical_pipeline())).status_code == 201
    assert api.put(f"/v1/models/{name}/aliases/production", json={"version": 2}).is_success
    plans = plan_frame()[0].head(3).to_dict("records")
    moved = submit(api, {"model": name, "dataframe_records": plans})
    assert moved["model"]["version"] == 2 and wait_for(api, moved["id"])["status"] == "succeeded"
    assert_problem(api.post("/v1/jobs", json={"model": name, **_rows()}), 422, "plan")


def test_the_registry_survives_restarts_of_api_worker_and_redis(isolated_stack: Stack) -> None:
    """Versions and aliases uploaded before a restart of every process serve after it."""
    model = categorical_pipeline()
    with isolated_stack.api_client(timeout=60) as client:
        worker = isolated_stack.start_worker(concurrency=1)
        upload(client, "plans", skops_bytes(model))
        upload(client, "plans", skops_bytes(model), alias="production")
        before = client.get("/v1/models/plans").json()
    isolated_stack.api.stop()  # type: ignore[union-attr]
    isolated_stack.stop_worker(worker)
    isolated_stack.redis_server.restart()
    with isolated_stack.api_client(timeout=60) as client:
        isolated_stack.start_worker(concurrency=1)
        after = client.get("/v1/models/plans").json()
        assert after == before and after["aliases"] == {"production": 2}
        frame, _ = plan_frame()
        job = submit(client, {"model": "plans", "dataframe_records": frame.to_dict("records")})
        assert job["model"]["version"] == 2
        assert wait_for(client, job["id"])["status"] == "succeeded"
        assert (
            results_frame(client, job["id"])["prediction"].tolist() == model.predict(frame).tolist()
        )
