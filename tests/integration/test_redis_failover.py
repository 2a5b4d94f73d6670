"""Redis Sentinel end to end: the API, a real Celery worker and the batchers follow a failover
of the primary without a restart, and with INFERQ_REDIS_MIN_REPLICAS a job is acknowledged
only once a replica holds it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.helpers import assert_problem, demo_rows, wait_for
from tests.redis_ha import HAStack, fail_over

IRIS_ROW = demo_rows("iris", 1).to_numpy().tolist()


def _job(rows: list[list[float]] | None = None) -> dict[str, Any]:
    return {"model": "iris", "instances": rows or IRIS_ROW}


def _submit_through_failover(
    api: httpx.Client, body: dict[str, Any], accept: tuple[int, ...] = (202,), **kwargs: Any
) -> str:
    """POST a job, coming back on 503 (the switch) as a client does; its id once accepted."""
    deadline = time.monotonic() + 30
    while True:
        response = api.post("/v1/jobs", json=body, **kwargs)
        if response.status_code != 503 or time.monotonic() > deadline:
            break
        assert "Retry-After" in response.headers
        time.sleep(0.2)
    assert response.status_code in accept, response.text
    return str(response.json()["id"])


@contextmanager
def ha_running(tmp_path: Path, **settings: str) -> Iterator[HAStack]:
    """A primary, a replica, three Sentinels, the demo models, one worker and the API, all
    on `redis+sentinel://`."""
    stack = HAStack(tmp_path / "ha", **settings)
    with stack.running(workers=2):
        yield stack


@pytest.mark.parametrize(
    ("dispatch", "kill"),
    [("celery", False), ("batcher", True)],
    ids=["celery-sentinel-failover", "batcher-primary-killed"],
)
def test_jobs_before_and_after_a_failover_all_succeed(
    tmp_path: Path, dispatch: str, kill: bool
) -> None:
    """Jobs accepted before the primary moves finish, and the same API and worker processes
    take and score new jobs after it, through Celery (one task each) or the batchers."""
    settings = {"inline_dispatch": dispatch, "redis_min_replicas": "1"}
    with ha_running(tmp_path, **settings) as stack, stack.client(timeout=30) as api:
        before = [_submit_through_failover(api, _job()) for _ in range(10)]
        api_pid, worker_pid = stack.api.pid, stack.workers[0].pid  # type: ignore[union-attr]
        new_primary = fail_over(stack.ha, kill=kill)
        after = [_submit_through_failover(api, _job()) for _ in range(10)]
        for job_id in before + after:
            assert wait_for(api, job_id)["status"] == "succeeded", job_id
        assert (stack.api.pid, stack.workers[0].pid) == (api_pid, worker_pid)  # type: ignore[union-attr]
        assert stack.redis().connection_pool.get_master_address()[1] == new_primary.port  # type: ignore[attr-defined]


def test_without_its_replica_a_job_is_not_acknowledged(tmp_path: Path) -> None:
    """MIN_REPLICAS=1 and the replica down: 503 with Retry-After and no job id, replays of the
    Idempotency-Key too; once the replica is back the retry is answered with a job, and every
    later retry with the same one."""
    key = {"Idempotency-Key": "durable-1"}
    with (
        ha_running(tmp_path, redis_min_replicas="1", redis_wait_timeout_ms="300") as stack,
        stack.client(timeout=30) as api,
    ):
        replica = stack.ha.replica()
        replica.stop()
        refused = api.post("/v1/jobs", json=_job(), headers=key)
        problem = assert_problem(refused, 503, "replicas")
        assert refused.headers["Retry-After"]
        assert "id" not in problem and "Location" not in refused.headers
        replay = api.post("/v1/jobs", json=_job(), headers=key)
        assert_problem(replay, 503, "replicas")
        replica.start()
        accepted = _submit_through_failover(api, _job(), headers=key, accept=(200, 202))
        again = api.post("/v1/jobs", json=_job(), headers=key)
        assert again.status_code == 200 and again.json()["id"] == accepted
        assert wait_for(api, accepted)["status"] == "succeeded"


def test_with_its_replica_a_job_is_acknowledged(tmp_path: Path) -> None:
    """MIN_REPLICAS=1 with the replica up: JSON and file jobs are 202, and the replica holds
    each job as soon as the answer arrives."""
    with ha_running(tmp_path, redis_min_replicas="1") as stack, stack.client(timeout=30) as api:
        job = api.post("/v1/jobs", json=_job())
        assert job.status_code == 202, job.text
        csv = "sepal_length,sepal_width,petal_length,petal_width\n1,2,3,4\n"
        upload = api.post("/v1/jobs?model=iris", content=csv, headers={"Content-Type": "text/csv"})
        assert upload.status_code == 202, upload.text
        replica = stack.ha.replica()
        held = replica_client(replica.port)
        for job_id in (job.json()["id"], upload.json()["id"]):
            assert held.exists(f"inferq:job:{job_id}")
            assert wait_for(api, job_id)["status"] == "succeeded"


def replica_client(port: int) -> redis.Redis:
    """A client of one server (not through the Sentinels)."""
    return redis.Redis(host="127.0.0.1", port=port)
