"""Small jobs are scored together in batches, by priority, with backpressure."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pandas as pd

from tests.helpers import assert_problem, demo_rows, reference_model, submit, wait_for
from tests.stack import Stack


def _one_row_jobs(
    client: httpx.Client, name: str, count: int, seed: int, **options
) -> list[tuple[str, dict]]:
    rows = demo_rows(name, count, seed=seed).to_dict("records")
    return [
        (submit(client, {"model": name, "dataframe_records": [row], **options})["id"], row)
        for row in rows
    ]


def test_a_backlog_of_small_jobs_is_scored_in_batches_equal_to_direct_predictions(
    isolated_stack: Stack,
) -> None:
    """Jobs queued before a worker starts are batched, and each result equals scoring it alone."""
    with isolated_stack.api_client(timeout=60) as client:
        iris = _one_row_jobs(client, "iris", 60, seed=3)
        diabetes = _one_row_jobs(client, "diabetes", 40, seed=4)
        isolated_stack.start_worker(concurrency=1)
        redis = isolated_stack.redis()
        for name, jobs in (("iris", iris), ("diabetes", diabetes)):
            model = reference_model(name)
            for job_id, row in jobs:
                done = client.get(
                    f"/v1/jobs/{job_id}", params={"wait": 30, "include": "results"}
                ).json()
                assert done["status"] == "succeeded", done
                expected = model.predict(pd.DataFrame([row]))
                got = done["results"]["data"][0][0]
                if name == "iris":
                    assert got == expected[0]
                else:
                    np.testing.assert_allclose(got, expected[0])
        sizes = [int(redis.hget(f"inferq:job:{job_id}", "batch_jobs")) for job_id, _ in iris]
        assert max(sizes) > 1, "jobs queued together must share predict calls"


def test_mixed_models_in_flight_each_get_their_own_model(api: httpx.Client) -> None:
    """Concurrent jobs of different models never mix: each matches its own model."""
    rows = {name: demo_rows(name, 8, seed=5) for name in ("iris", "diabetes", "breast_cancer")}

    def run(name: str) -> tuple[str, list]:
        job = submit(
            api,
            {
                "model": name,
                "dataframe_split": {
                    "columns": list(rows[name].columns),
                    "data": rows[name].to_numpy().tolist(),
                },
            },
        )
        done = api.get(f"/v1/jobs/{job['id']}", params={"wait": 30, "include": "results"}).json()
        return name, [r[0] for r in done["results"]["data"]]

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(run, ["iris", "diabetes", "breast_cancer"] * 4))
    for name, predictions in outcomes:
        expected = reference_model(name).predict(rows[name])
        if name == "diabetes":
            np.testing.assert_allclose(predictions, expected)
        else:
            assert predictions == expected.tolist()


def test_a_job_whose_rows_break_the_model_fails_alone(isolated_stack: Stack) -> None:
    """A row the model rejects fails its own job; jobs batched with it succeed."""
    with isolated_stack.api_client(timeout=60) as client:
        good = _one_row_jobs(client, "iris", 10, seed=6)
        bad_row = {
            "sepal_length": 1e300,
            "sepal_width": 3.0,
            "petal_length": 1.0,
            "petal_width": 0.1,
        }
        bad = submit(client, {"model": "iris", "dataframe_records": [bad_row]})
        more = _one_row_jobs(client, "iris", 10, seed=7)
        isolated_stack.start_worker(concurrency=1)
        failed = wait_for(client, bad["id"])
        assert failed["status"] == "failed"
        assert (
            failed["error"]["code"] == "scoring_failed" and "float32" in failed["error"]["message"]
        )
        for job_id, _ in good + more:
            assert wait_for(client, job_id)["status"] == "succeeded"


def test_high_priority_overtakes_a_backlog_of_low(tmp_path) -> None:
    """A high-priority job submitted after many low ones is scored before all of them."""
    stack = Stack(tmp_path / "prio", max_batch_rows="4", max_delay_ms="0")
    try:
        stack.start_redis()
        stack.register_demo_models()
        with stack.api_client(timeout=60) as client:
            low = [job for job, _ in _one_row_jobs(client, "iris", 30, seed=8, priority="low")]
            high = _one_row_jobs(client, "iris", 1, seed=9, priority="high")[0][0]
            stack.start_worker(concurrency=1)
            high_done = wait_for(client, high)["finished_at"]
            low_done = [wait_for(client, job)["finished_at"] for job in low]
            assert high_done <= min(low_done)
            assert sorted(low_done)[-1] > high_done
    finally:
        stack.stop()


def test_a_full_queue_answers_429_and_drops_nothing(tmp_path) -> None:
    """Past INFERQ_MAX_QUEUED_JOBS new jobs get 429 with Retry-After; accepted ones all finish."""
    stack = Stack(tmp_path / "full", max_queued_jobs="3")
    try:
        stack.start_redis()
        stack.register_demo_models()
        with stack.api_client(timeout=60) as client:
            accepted = [job for job, _ in _one_row_jobs(client, "iris", 3, seed=10)]
            refused = client.post(
                "/v1/jobs", json={"model": "iris", "instances": [[5.0, 3.0, 1.5, 0.2]]}
            )
            assert_problem(refused, 429, "waiting")
            assert refused.headers["retry-after"] == "2"
            stack.start_worker(concurrency=1)
            assert all(wait_for(client, job)["status"] == "succeeded" for job in accepted)
            assert submit(client, {"model": "iris", "instances": [[5.0, 3.0, 1.5, 0.2]]})
    finally:
        stack.stop()


def test_post_with_wait_answers_with_the_ended_job_and_its_results(api: httpx.Client) -> None:
    """`POST /v1/jobs?wait=&include=results` is the one-request fast path: 200 with the rows."""
    rows = demo_rows("iris", 2, seed=11)
    response = api.post(
        "/v1/jobs",
        params={"wait": 30, "include": "results"},
        json={"model": "iris", "dataframe_records": rows.to_dict("records")},
    )
    assert response.status_code == 200, response.text
    job = response.json()
    assert job["status"] == "succeeded"
    assert [r[0] for r in job["results"]["data"]] == reference_model("iris").predict(rows).tolist()
