"""`/metrics` on the real stack, and the JSON log lines of the API and workers."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
from prometheus_client.parser import text_string_to_metric_families

from inferq.jobs.keys import job as job_key
from tests.helpers import demo_rows, submit, wait_for
from tests.stack import Stack
from workers.context import WorkerContext
from workers.job_metrics import record_job_end

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(api: httpx.Client) -> Samples:
    """Every sample of /metrics by (name, sorted labels)."""
    response = api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def eventually(check: Callable[[], bool], seconds: float = 30) -> None:
    """Wait until `check()` holds (workers write metrics just after a job ends)."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.1)


def test_a_job_moves_rows_latency_batch_and_cache_metrics(api: httpx.Client) -> None:
    """After a 40-row job: rows, ended jobs, both latency histograms, batch sizes and cache grow."""
    before = scrape(api)
    job = submit(
        api, {"model": "iris", "dataframe_records": demo_rows("iris", 40).to_dict("records")}
    )
    assert wait_for(api, job["id"])["status"] == "succeeded"

    def grew(name: str, labels: tuple = (), by: float = 1) -> bool:
        return scrape(api).get((name, labels), 0) >= before.get((name, labels), 0) + by

    eventually(lambda: grew("inferq_rows_scored_total", by=40))
    after = scrape(api)
    ended = ("inferq_jobs_ended_total", (("status", "succeeded"),))
    assert after[ended] >= before.get(ended, 0) + 1
    for histogram in (
        "job_duration_seconds",
        "job_queue_wait_seconds",
        "chunk_duration_seconds",
        "batch_rows",
    ):
        name = f"inferq_{histogram}_count"
        assert after[(name, ())] >= before.get((name, ()), 0) + 1, name
    inf = ("inferq_batch_rows_bucket", (("le", "+Inf"),))
    assert after[inf] == after[("inferq_batch_rows_count", ())]
    lookups = ("inferq_model_cache_hits_total", "inferq_model_cache_misses_total")
    assert sum(after[(n, ())] for n in lookups) >= sum(before.get((n, ()), 0) for n in lookups) + 1
    assert after[("inferq_workers", ())] >= 1


def test_a_file_job_counts_its_rows_and_latency_once(tmp_path: Path) -> None:
    """A CSV job cut into ~15 chunks, scored by two processes, adds its rows and one job
    duration, whichever chunk ends it."""
    stack = Stack(tmp_path / "chunks", file_chunk_bytes="4096")
    with stack.running(workers=2), stack.client(timeout=60) as api:
        rows = demo_rows("iris", 3000, seed=8)
        response = api.post(
            "/v1/jobs",
            params={"model": "iris"},
            content=rows.to_csv(index=False).encode(),
            headers={"content-type": "text/csv"},
        )
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        assert wait_for(api, job_id)["status"] == "succeeded"
        assert int(stack.redis().hget(job_key(job_id), "chunks_total")) > 10
        eventually(lambda: scrape(api).get(("inferq_rows_scored_total", ()), 0) >= 3000)
        time.sleep(0.5)  # late chunk tasks would count again now, if they were going to
        after = scrape(api)
    assert after[("inferq_rows_scored_total", ())] == 3000
    assert after[("inferq_job_duration_seconds_count", ())] == 1


def test_queue_depth_and_backlog_count_waiting_jobs_of_every_priority(
    isolated_stack: Stack,
) -> None:
    """Three jobs of three priorities with no worker: depth 3, 3 queued; a worker drains them."""
    with isolated_stack.api_client(timeout=30) as api:
        rows = demo_rows("iris", 3).to_dict("records")
        jobs = [
            submit(api, {"model": "iris", "priority": p, "dataframe_records": rows})
            for p in ("high", "normal", "low")
        ]
        waiting = scrape(api)
        assert waiting[("inferq_queue_depth", (("queue", "inferq.jobs"),))] == 3
        assert waiting[("inferq_jobs", (("status", "queued"),))] == 3
        assert waiting[("inferq_workers", ())] == 0
        assert waiting[("inferq_backlog_per_worker", ())] == 3
        isolated_stack.start_worker(concurrency=1)
        for job in jobs:
            wait_for(api, job["id"])
        eventually(lambda: scrape(api)[("inferq_rows_scored_total", ())] == 9)
        drained = scrape(api)
        assert drained[("inferq_queue_depth", (("queue", "inferq.jobs"),))] == 0
        assert drained[("inferq_jobs", (("status", "queued"),))] == 0
        assert drained[("inferq_jobs", (("status", "running"),))] == 0
        assert drained[("inferq_jobs_ended_total", (("status", "succeeded"),))] == 3
        assert drained[("inferq_model_cache_loads_total", ())] == 1
        # A task that sees an already counted job again (redelivery, a late chunk) adds nothing.
        record_job_end(WorkerContext.build(isolated_stack.settings), jobs[0]["id"])
        assert scrape(api)[("inferq_rows_scored_total", ())] == 9


def test_file_jobs_log_json_lines_with_job_and_tenant_and_small_jobs_do_not(
    isolated_stack: Stack,
) -> None:
    """A file job's intake (API) and end (worker) are JSON lines at INFO naming the job and
    tenant; a one-row job writes no line at INFO (it is counted in /metrics instead)."""
    isolated_stack.start_worker(concurrency=1)
    rows = demo_rows("iris", 20).to_csv(index=False).encode()
    with isolated_stack.api_client(timeout=30) as api:
        small = submit(api, {"model": "iris", "instances": [[5.1, 3.5, 1.4, 0.2]]})
        posted = api.post("/v1/jobs", params={"model": "iris"}, content=rows,
                          headers={"content-type": "text/csv"})  # fmt: skip
        assert posted.status_code == 202, posted.text
        wait_for(api, small["id"])
        wait_for(api, posted.json()["id"])

    def lines(pattern: str, job_id: str) -> list[dict]:
        found = []
        for path in isolated_stack.base.glob(pattern):
            for line in path.read_bytes().splitlines():
                if line.startswith(b"{"):
                    entry = orjson.loads(line)
                    if entry.get("job_id") == job_id:
                        found.append(entry)
        return found

    file_id = posted.json()["id"]
    eventually(lambda: any("ended" in e["message"] for e in lines("worker-*.log", file_id)))
    ended = [e for e in lines("worker-*.log", file_id) if "ended" in e["message"]]
    assert ended[0]["tenant"] == "default" and ended[0]["level"] == "info"
    taken = [e for e in lines("api.log", file_id) if "taken in" in e["message"]]
    assert taken and taken[0]["tenant"] == "default" and taken[0]["level"] == "info"
    small_lines = lines("*.log", small["id"])
    assert [e for e in small_lines if e["level"] == "info"] == []
