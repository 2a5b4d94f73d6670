"""Readiness, and jobs that wait for a worker or for Redis."""

from __future__ import annotations

import httpx

from tests.helpers import assert_problem, demo_rows, reference_model, results_frame, wait_for
from tests.stack import Stack


def test_healthz_and_readyz_on_a_full_stack(api: httpx.Client) -> None:
    """With Redis and a worker up, both probes answer 200."""
    assert api.get("/healthz").json() == {"status": "ok"}
    ready = api.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True


def test_readyz_reports_a_missing_worker(isolated_stack: Stack) -> None:
    """No worker alive: /readyz is 503 and says workers is 0; one starts: 200."""
    isolated_stack.start_api()
    with isolated_stack.client() as client:
        response = client.get("/readyz")
        assert_problem(response, 503, "worker")
        assert {k: response.json()[k] for k in ("ready", "redis", "workers")} == {
            "ready": False,
            "redis": True,
            "workers": 0,
        }
        assert "retry-after" in response.headers
        isolated_stack.start_worker(concurrency=1)
        assert client.get("/readyz").json()["workers"] == 1


def test_a_job_submitted_with_no_worker_is_scored_once_one_starts(isolated_stack: Stack) -> None:
    """A job accepted while no worker runs stays queued, then succeeds when a worker starts."""
    rows = demo_rows("iris", 6)
    isolated_stack.start_api()
    with isolated_stack.client(timeout=60) as client:
        job = client.post(
            "/v1/jobs", json={"model": "iris", "dataframe_records": rows.to_dict("records")}
        ).json()
        assert client.get(f"/v1/jobs/{job['id']}", params={"wait": 1}).json()["status"] == "queued"
        isolated_stack.start_worker(concurrency=1)
        assert wait_for(client, job["id"])["status"] == "succeeded"
        assert (
            results_frame(client, job["id"])["prediction"].tolist()
            == reference_model("iris").predict(rows).tolist()
        )


def test_redis_unreachable_is_503_with_retry_after(isolated_stack: Stack) -> None:
    """With Redis stopped, submitting and reading answer 503 with Retry-After, never 500."""
    isolated_stack.start_api()
    with isolated_stack.client(timeout=30) as client:
        isolated_stack.redis_server.stop()
        submitted = client.post("/v1/jobs", json={"model": "iris", "instances": [[1, 2, 3, 4]]})
        body = assert_problem(submitted, 503, "Redis")
        assert submitted.headers["retry-after"] == "2" and body["status"] == 503
        assert_problem(client.get("/v1/jobs/job_01M83ZXD7CV4ETARR9WMYXEVV7"), 503)
        assert_problem(client.get("/v1/models"), 503)
        ready = client.get("/readyz")
        assert assert_problem(ready, 503, "Redis")["redis"] is False
