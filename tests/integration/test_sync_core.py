"""The synchronous inference core: a request lost with its batcher is answered by another, one
nobody scores ends in a 504 in the protocol's shape, and neither is left in a lane."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from inferq.jobs.pending import PendingJobs, lane
from inferq.jobs.sync import APART_BYTES, HELD, rows_key
from tests.helpers import demo_rows, reference_model
from tests.stack import Stack

IRIS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
#: Enough iris rows (8 bytes a value, 4 values a row) for their matrix to travel apart.
APART_ROWS = APART_BYTES // 32 + 100


def infer_body(rows: int = 1) -> dict:
    """A v2 infer body of `rows` iris rows in one [N, 4] tensor."""
    values = demo_rows("iris", rows, seed=5)[IRIS].to_numpy().tolist()
    return {
        "id": "lost-1",
        "inputs": [{"name": "x", "shape": [rows, 4], "datatype": "FP64", "data": values}],
    }


def send_later(stack: Stack, body: dict) -> tuple[threading.Thread, list[httpx.Response]]:
    """POST an infer in a thread (it waits for its answer); the response lands in the list."""
    answers: list[httpx.Response] = []

    def send() -> None:
        with stack.client(timeout=120) as api:
            answers.append(api.post("/v2/models/iris/infer", json=body))

    thread = threading.Thread(target=send)
    thread.start()
    return thread, answers


def wait_until(check: object, seconds: float = 60) -> None:
    """Wait until `check()` holds; fail the test if it never does."""
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


@pytest.mark.parametrize("rows", [1, APART_ROWS], ids=["in-entry", "rows-apart"])
def test_a_request_whose_batcher_died_is_answered_by_another(tmp_path: Path, rows: int) -> None:
    """A batcher claims the request and dies (never answers): once its lease runs out the
    request goes back to its lane and a live worker's batcher answers it, right. Rows over
    APART_BYTES wait under a key of their own (the lane entry stays small) until answered."""
    stack = Stack(tmp_path / "s", lease_seconds="1", sweep_seconds="0.2")
    try:
        stack.start_redis()
        stack.register_demo_models()
        stack.start_api()
        redis = stack.redis()
        thread, answers = send_later(stack, infer_body(rows))
        wait_until(lambda: redis.llen(lane("normal")) == 1)
        entry_bytes = len(redis.lindex(lane("normal"), 0))
        claimed = PendingJobs(redis).claim("dead-batcher", 10, lease_seconds=1)
        assert len(claimed) == 1 and claimed[0].request is not None
        request = claimed[0].request
        assert redis.hexists(HELD, request.id)
        assert request.rows_total == rows and len(request.rows) == rows * 4 * 8
        assert request.apart == (rows == APART_ROWS)
        # Apart, the entry holds no rows; else it holds them all.
        assert entry_bytes < 1024 if request.apart else entry_bytes > len(request.rows)
        assert redis.exists(rows_key(request.id)) == request.apart
        assert not redis.keys("inferq:job:*")  # a sync request has no job hash
        stack.start_worker(concurrency=1)
        thread.join(timeout=120)
        assert answers and answers[0].status_code == 200, answers and answers[0].text
        body = answers[0].json()
        frame = demo_rows("iris", rows, seed=5)[IRIS]
        expected = reference_model("iris").predict(frame).tolist()
        assert body["id"] == "lost-1" and body["outputs"][0]["data"] == expected
        assert not redis.hgetall(HELD) and not redis.zcard("inferq:leases")
        assert not redis.keys(rows_key("*"))  # answered: its rows are dropped
    finally:
        stack.stop()


def test_a_request_nobody_scores_is_answered_504_and_then_dropped(tmp_path: Path) -> None:
    """Without a worker the request waits INFERQ_SYNC_TIMEOUT_SECONDS, then 504 `{"error"}`;
    a batcher that comes later drops it unscored."""
    stack = Stack(tmp_path / "s", sync_timeout_seconds="1")
    try:
        stack.start_redis()
        stack.register_demo_models()
        stack.start_api()
        with stack.client(timeout=60) as api:
            response = api.post("/v2/models/iris/infer", json=infer_body())
        assert response.status_code == 504, response.text
        assert response.headers["content-type"] == "application/json"
        assert "no answer" in response.json()["error"]
        redis = stack.redis()
        assert redis.llen(lane("normal")) == 1
        assert PendingJobs(redis).claim("late-batcher", 10, lease_seconds=5) == []
        assert redis.llen(lane("normal")) == 0 and not redis.hgetall(HELD)
        # Rows that travelled apart are not left behind for long: they expire a minute after.
        with stack.client(timeout=60) as api:
            big = api.post("/v2/models/iris/infer", json=infer_body(APART_ROWS))
        assert big.status_code == 504, big.text
        (kept,) = redis.keys(rows_key("*"))
        assert 0 < redis.pttl(kept) <= 61_000
    finally:
        stack.stop()


def test_redis_away_is_503_in_each_protocols_shape(tmp_path: Path) -> None:
    """With Redis stopped, v2 and TF Serving answer 503 `{"error"}` and MLflow 503
    TEMPORARILY_UNAVAILABLE, each with Retry-After: never a 500 or a hang."""
    stack = Stack(tmp_path / "s")
    try:
        stack.start_redis()
        stack.register_demo_models()
        stack.start_api()
        stack.redis_server.stop()
        with stack.client(timeout=60) as api:
            v2 = api.post("/v2/models/iris/infer", json=infer_body())
            tf = api.post("/v1/models/iris:predict", json={"instances": [IRIS_ROW]})
            mlflow = api.post("/v1/models/iris/invocations", json={"instances": [IRIS_ROW]})
        for response in (v2, tf, mlflow):
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"]
        assert "Redis" in v2.json()["error"] and "Redis" in tf.json()["error"]
        assert mlflow.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
    finally:
        stack.stop()


IRIS_ROW = [5.1, 3.5, 1.4, 0.2]
