"""Nothing accepted is lost: worker crashes, Redis restarts, idempotency, cancel, retention."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.helpers import (
    assert_problem,
    demo_rows,
    reference_model,
    results_frame,
    submit,
    wait_for,
)
from tests.stack import Stack

IRIS = [5.1, 3.5, 1.4, 0.2]


@pytest.fixture
def quick_stack(tmp_path: Path):
    """A stack whose leases, sweeps and retention run in seconds, with large bodies allowed."""
    stack = Stack(
        tmp_path / "quick",
        lease_seconds="2",
        sweep_seconds="0.3",
        max_body_bytes=str(64 * 1024 * 1024),
    )
    try:
        stack.start_redis()
        stack.register_demo_models()
        yield stack
    finally:
        stack.stop()


def _big_iris_job(client: httpx.Client, rows: int) -> tuple[dict, object]:
    frame = demo_rows("iris", rows, seed=21)
    body = {
        "model": "iris",
        "dataframe_split": {"columns": list(frame.columns), "data": frame.to_numpy().tolist()},
    }
    return submit(client, body), frame


def _wait_until_running(client: httpx.Client, job_id: str, attempt: int = 1) -> None:
    """Until the job runs in its `attempt`-th claim (an earlier, killed claim looks running too
    until its lease runs out)."""
    for _ in range(1200):
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] == "running" and job["attempts"] >= attempt:
            return
        time.sleep(0.05)
    pytest.fail(f"job never started running (attempt {attempt})")


def test_a_worker_killed_mid_job_loses_nothing(quick_stack: Stack) -> None:
    """SIGKILL of the process scoring a job: the job is taken again and scores every row once."""
    with quick_stack.api_client(timeout=120) as client:
        quick_stack.start_worker(concurrency=1)
        job, frame = _big_iris_job(client, 150_000)
        _wait_until_running(client, job["id"])
        owner = quick_stack.redis().hget(f"inferq:job:{job['id']}", "owner").decode()
        os.kill(int(owner.rsplit(":", 1)[1]), signal.SIGKILL)
        done = wait_for(client, job["id"], seconds=120)
        assert done["status"] == "succeeded", done
        assert done["attempts"] == 2
        scored = results_frame(client, job["id"])
        assert len(scored) == len(frame)
        assert scored["prediction"].tolist() == reference_model("iris").predict(frame).tolist()


def test_accepted_jobs_survive_a_redis_restart_and_workers_reconnect(quick_stack: Stack) -> None:
    """Jobs accepted before Redis restarts are scored after; a running worker reconnects."""
    with quick_stack.api_client(timeout=60) as client:
        before = [submit(client, {"model": "iris", "instances": [IRIS]})["id"] for _ in range(5)]
        quick_stack.redis_server.restart()
        quick_stack.start_worker(concurrency=1)
        assert all(wait_for(client, job)["status"] == "succeeded" for job in before)
        quick_stack.redis_server.restart()
        after = None
        for _ in range(100):  # the API's connections notice the restart on first use
            response = client.post("/v1/jobs", json={"model": "iris", "instances": [IRIS]})
            if response.status_code == 202:
                after = response.json()["id"]
                break
            assert_problem(response, 503)
            time.sleep(0.1)
        assert after is not None
        assert wait_for(client, after)["status"] == "succeeded"


def test_idempotency_key_returns_the_first_job_and_refuses_another_body(api: httpx.Client) -> None:
    """Same key and body: the first job with 200; same key, other body: 409."""
    body = {"model": "iris", "instances": [IRIS]}
    headers = {"Idempotency-Key": f"order-{time.time_ns()}"}
    first = api.post("/v1/jobs", json=body, headers=headers)
    again = api.post("/v1/jobs", json=body, headers=headers)
    assert first.status_code == 202 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    other = api.post(
        "/v1/jobs", json={**body, "instances": [[6.0, 3.0, 4.0, 1.2]]}, headers=headers
    )
    assert_problem(other, 409, "different request body")
    assert submit(api, body)["id"] != first.json()["id"]


def test_one_idempotency_key_sent_at_once_many_times_makes_one_job(api: httpx.Client) -> None:
    """Eight requests racing with one key and body: one job; every answer names it, one 202."""
    body = {"model": "iris", "instances": [IRIS]}
    headers = {"Idempotency-Key": f"race-{time.time_ns()}"}
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda _: api.post("/v1/jobs", json=body, headers=headers), range(8))
        )
    assert sorted(a.status_code for a in answers) == [200] * 7 + [202]
    assert len({a.json()["id"] for a in answers}) == 1


def test_a_refused_request_leaves_its_idempotency_key_free(stack: Stack, api: httpx.Client) -> None:
    """A request refused before its job was made marks nothing: the key then makes the job."""
    key = f"refused-{time.time_ns()}"
    bad = api.post(
        "/v1/jobs", json={"model": "iris", "instances": [[1.0]]}, headers={"Idempotency-Key": key}
    )
    assert_problem(bad, 422)
    assert not stack.redis().exists(f"inferq:idem:default:{key}")
    good = api.post(
        "/v1/jobs", json={"model": "iris", "instances": [IRIS]}, headers={"Idempotency-Key": key}
    )
    assert good.status_code == 202, good.text


def test_cancelling_a_queued_job_drops_it(isolated_stack: Stack) -> None:
    """A queued job cancelled before any worker runs ends cancelled and is never scored."""
    with isolated_stack.api_client(timeout=60) as client:
        job = submit(client, {"model": "iris", "instances": [IRIS]})
        cancelled = client.post(f"/v1/jobs/{job['id']}/cancel").json()
        assert cancelled["status"] == "cancelled" and cancelled["finished_at"]
        later = submit(client, {"model": "iris", "instances": [IRIS]})
        isolated_stack.start_worker(concurrency=1)
        assert wait_for(client, later["id"])["status"] == "succeeded"
        final = client.get(f"/v1/jobs/{job['id']}").json()
        assert final["status"] == "cancelled" and final["progress"]["rows_done"] == 0
        assert_problem(client.get(f"/v1/jobs/{job['id']}/results"), 409, "no scored rows")


def test_cancelling_a_running_job_keeps_its_scored_rows(quick_stack: Stack) -> None:
    """A running job goes cancelling, then cancelled; the rows it scored stay downloadable."""
    with quick_stack.api_client(timeout=120) as client:
        quick_stack.start_worker(concurrency=1)
        job, frame = _big_iris_job(client, 100_000)
        _wait_until_running(client, job["id"])
        assert client.post(f"/v1/jobs/{job['id']}/cancel").json()["status"] in {
            "cancelling",
            "succeeded",
        }
        done = wait_for(client, job["id"], seconds=120)
        assert done["status"] == "cancelled"
        scored = results_frame(client, job["id"])
        expected = reference_model("iris").predict(frame)[: len(scored)]
        assert len(scored) > 0 and scored["prediction"].tolist() == expected.tolist()


def test_cancelling_an_ended_job_changes_nothing(api: httpx.Client) -> None:
    """Cancel after success leaves the job succeeded."""
    job = submit(api, {"model": "iris", "instances": [IRIS]})
    wait_for(api, job["id"])
    assert api.post(f"/v1/jobs/{job['id']}/cancel").json()["status"] == "succeeded"


def test_delete_removes_the_job_and_its_rows(stack: Stack, api: httpx.Client) -> None:
    """DELETE answers 204; afterwards the job is 404 and nothing of it is left in Redis."""
    job = submit(api, {"model": "iris", "instances": [IRIS]})
    wait_for(api, job["id"])
    assert api.delete(f"/v1/jobs/{job['id']}").status_code == 204
    assert_problem(api.get(f"/v1/jobs/{job['id']}"), 404)
    assert stack.redis().keys(f"inferq:job:{job['id']}*") == []


def test_jobs_expire_after_retention(tmp_path: Path) -> None:
    """After the retention period every job of a sweep reports expired, results are 410, rows
    and files are gone; after the grace period the records and listing entries are gone too."""
    stack = Stack(
        tmp_path / "expiry", retention_seconds="2", sweep_seconds="0.3", record_grace_seconds="3"
    )
    try:
        stack.start_redis()
        stack.register_demo_models()
        with stack.api_client(timeout=60) as client:
            stack.start_worker(concurrency=1)
            jobs = [submit(client, {"model": "iris", "instances": [IRIS]}) for _ in range(3)]
            csv = "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n"
            upload = client.post(
                "/v1/jobs", data={"model": "iris"}, files={"file": ("in.csv", csv, "text/csv")}
            )
            assert upload.status_code == 202, upload.text
            jobs.append(upload.json())
            files = Path(stack.settings.data_url.removeprefix("file://")) / "jobs"
            assert (files / jobs[-1]["id"]).is_dir()
            ids = [job["id"] for job in jobs]
            for job_id in ids:
                assert wait_for(client, job_id)["status"] == "succeeded"

            def statuses() -> set[int | str]:
                answers = [client.get(f"/v1/jobs/{job_id}") for job_id in ids]
                return {
                    a.json()["status"] if a.status_code == 200 else a.status_code for a in answers
                }

            deadline = time.monotonic() + 20
            while statuses() != {"expired"}:
                assert time.monotonic() < deadline, statuses()
                time.sleep(0.1)
            for job_id in ids:
                assert_problem(client.get(f"/v1/jobs/{job_id}/results"), 410, "expired")
            redis = stack.redis()
            while (
                any(redis.exists(f"inferq:job:{job_id}:result") for job_id in ids)
                or (files / ids[-1]).exists()
            ):  # the worker's sweep deletes the rows and the files
                assert time.monotonic() < deadline + 10, "rows or files were left"
                time.sleep(0.1)
            while statuses() != {404}:  # forgotten after the grace period
                assert time.monotonic() < deadline + 30, statuses()
                time.sleep(0.2)
            listed = client.get("/v1/jobs").json()["data"]
            assert not {job["id"] for job in listed} & set(ids)
    finally:
        stack.stop()


def test_a_job_past_its_deadline_fails_with_the_reason(isolated_stack: Stack) -> None:
    """A job whose deadline passed before a worker took it fails as deadline_exceeded."""
    with isolated_stack.api_client(timeout=60) as client:
        job = submit(client, {"model": "iris", "instances": [IRIS], "deadline_seconds": 0.2})
        time.sleep(0.5)
        isolated_stack.start_worker(concurrency=1)
        failed = wait_for(client, job["id"])
        assert failed["status"] == "failed" and failed["error"]["code"] == "deadline_exceeded"


def test_a_job_that_keeps_losing_its_worker_fails_after_bounded_attempts(
    quick_stack: Stack,
) -> None:
    """Lost max_attempts times, a job fails with worker_lost instead of looping."""
    redis = quick_stack.redis()
    with quick_stack.api_client(timeout=120) as client:
        job, _ = _big_iris_job(client, 150_000)
        for attempt in range(1, 4):
            worker = quick_stack.start_worker(concurrency=1)
            _wait_until_running(client, job["id"], attempt)
            owner = redis.hget(f"inferq:job:{job['id']}", "owner").decode()
            os.kill(int(owner.rsplit(":", 1)[1]), signal.SIGKILL)
            quick_stack.stop_worker(worker)
        quick_stack.start_worker(concurrency=1)
        failed = wait_for(client, job["id"], seconds=60)
        assert failed["status"] == "failed" and failed["error"]["code"] == "worker_lost"
        assert failed["attempts"] == 3
