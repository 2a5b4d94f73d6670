"""File jobs on the real stack: a pool process killed mid-chunk loses no row, and a cancelled
job's running chunks stop at their next predict slice, keeping what they scored."""

from __future__ import annotations

import io
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
import pyarrow as pa
import pytest

from inferq.files import layout
from inferq.jobs.chunks import ChunkLedger
from inferq.jobs.keys import job_chunk_attempts
from inferq.storage import Storage
from inferq.usage import keys as usage_keys
from tests.helpers import TenantClients, demo_rows, reference_model, wait_for
from tests.stack import Stack

BATCH_ROWS = 50
VISIBILITY_SECONDS = 5
CSV = {"content-type": "text/csv"}


@pytest.fixture(scope="module")
def slices_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Chunks of ~2,700 iris rows, each scored in slices of 50 rows; one worker, two processes;
    a message held by a lost worker goes to another after 5 s."""
    stack = Stack(
        tmp_path_factory.mktemp("slices"),
        file_chunk_bytes=str(64 * 1024),
        predict_batch_rows=str(BATCH_ROWS),
        visibility_timeout=str(VISIBILITY_SECONDS),
    )
    with stack.running(workers=2):
        yield stack


@pytest.fixture
def client(slices_stack: Stack) -> Iterator[httpx.Client]:
    """An HTTP client of the stack's API, sending its admin key."""
    with slices_stack.client(timeout=120) as http:
        yield http


@dataclass
class FrozenChunk:
    """A pool process stopped (SIGSTOP) in the middle of scoring one chunk of a job."""

    pid: int
    index: int
    rows_scored: int
    """Rows of the chunk scored when it last asked for the job's status."""


def _rows(count: int, seed: int) -> pd.DataFrame:
    rows = demo_rows("iris", count, seed=seed)
    rows.insert(0, "id", [f"r{i:06d}" for i in range(count)])
    return rows


def _submit_csv(client: httpx.Client, rows: pd.DataFrame) -> str:
    response = client.post(
        "/v1/jobs",
        params={"model": "iris", "passthrough": "id"},
        content=rows.to_csv(index=False).encode(),
        headers=CSV,
    )
    assert response.status_code == 202, response.text
    return response.json()["id"]


def _results(client: httpx.Client, job_id: str) -> pd.DataFrame:
    response = client.get(f"/v1/jobs/{job_id}/results", params={"format": "csv"})
    assert response.status_code == 200, response.text
    return pd.read_csv(io.BytesIO(response.content), dtype={"id": str})


def _pool_processes(stack: Stack) -> set[int]:
    """The pool processes of the workers this stack started (only these are ever signalled)."""
    found = set()
    for worker in stack.workers:
        path = Path(f"/proc/{worker.pid}/task/{worker.pid}/children")
        if path.exists():
            found.update(int(pid) for pid in path.read_text().split())
    return found


def _stopped(pid: int) -> bool:
    """Whether the process is stopped by a signal (state T in /proc)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] == "T"


def _freeze_mid_chunk(stack: Stack, job_id: str, wanted: Callable[[int, int], bool]) -> FrozenChunk:
    """Stop a pool process while it scores a chunk of the job for which `wanted(index, rows)`.

    After SIGSTOP has taken hold and one round trip to Redis, the chunk's entry in the ledger
    is what the frozen process last reported: it is between starting and finishing that chunk.
    """
    redis = stack.redis()
    ledger = ChunkLedger(redis, stack.settings.retention_seconds)
    for _ in range(20_000):
        for index, (owner, _) in ledger.being_scored(job_id).items():
            pid = int(owner.rsplit(":", 1)[1])
            if pid not in _pool_processes(stack):
                continue
            os.kill(pid, signal.SIGSTOP)
            while not _stopped(pid):
                time.sleep(0.001)
            redis.ping()  # Redis has now run anything the process sent before it stopped
            entry = ledger.being_scored(job_id).get(index)
            if entry is not None and entry[0] == owner and wanted(index, entry[1]):
                return FrozenChunk(pid, index, entry[1])
            os.kill(pid, signal.SIGCONT)
        time.sleep(0.002)
    pytest.fail(f"no chunk of {job_id} was caught being scored")


def test_a_pool_process_killed_mid_chunk_loses_and_repeats_no_row(
    slices_stack: Stack, client: httpx.Client
) -> None:
    """SIGKILL of the process scoring a chunk mid-job: the chunk is scored again by another
    process and the job's result equals scikit-learn's predictions row for row, in order."""
    rows = _rows(40_000, seed=31)
    job_id = _submit_csv(client, rows)
    redis = slices_stack.redis()

    def mid_job(index: int, rows_scored: int) -> bool:
        done = int(redis.hget(f"inferq:job:{job_id}", "rows_done") or 0)
        return rows_scored > 0 and done > 0

    frozen = _freeze_mid_chunk(slices_stack, job_id, mid_job)
    job = client.get(f"/v1/jobs/{job_id}").json()
    assert 0 < job["progress"]["rows_done"] < len(rows), job
    os.kill(frozen.pid, signal.SIGKILL)

    done = wait_for(client, job_id, seconds=120)
    assert done["status"] == "succeeded", done
    assert done["progress"] == {"rows_total": len(rows), "rows_done": len(rows), "rows_failed": 0}
    assert int(redis.hget(job_chunk_attempts(job_id), str(frozen.index))) >= 2
    scored = _results(client, job_id)
    assert scored["id"].tolist() == rows["id"].tolist()
    expected = reference_model("iris").predict(rows.drop(columns="id"))
    assert scored["prediction"].tolist() == expected.tolist()


def test_the_rows_of_a_chunk_whose_process_was_killed_are_counted_once(
    slices_stack: Stack,
) -> None:
    """SIGKILL of the process scoring a chunk: the chunk is scored again by another process,
    and the tenant's usage counts every row of the job exactly once (and the job once)."""
    clients = TenantClients(slices_stack)
    try:
        client = clients()
        rows = _rows(20_000, seed=37)
        job_id = _submit_csv(client, rows)
        frozen = _freeze_mid_chunk(slices_stack, job_id, lambda index, scored: scored > 0)
        os.kill(frozen.pid, signal.SIGKILL)
        done = wait_for(client, job_id, seconds=120)
        assert done["status"] == "succeeded", done
        redis = slices_stack.redis()
        assert int(redis.hget(job_chunk_attempts(job_id), str(frozen.index))) >= 2
        total = client.get("/v1/usage").json()["total"]
        assert (total["jobs"], total["rows_scored"], total["rows_failed"]) == (1, len(rows), 0)
        tenant = client.tenant  # type: ignore[attr-defined]
        assert int(redis.hget(usage_keys.TENANT_ROWS, tenant)) == len(rows)
    finally:
        clients.close()


def test_cancel_stops_a_running_chunk_at_its_next_slice_and_keeps_scored_rows(
    slices_stack: Stack, client: httpx.Client
) -> None:
    """A chunk frozen mid-scoring, the job cancelled, the chunk let go: it scores one more slice,
    stops, and its rows so far become its part; the job goes cancelling, then cancelled, and
    serves exactly the rows it counted, each equal to scikit-learn's prediction."""
    rows = _rows(30_000, seed=32)
    job_id = _submit_csv(client, rows)
    storage = Storage(slices_stack.settings.data_url)

    def chunk_rows(index: int) -> int:
        return storage.read_bytes(layout.chunk_key(job_id, index)).count(b"\n")

    def slices_left(index: int, rows_scored: int) -> bool:
        return rows_scored > 0 and rows_scored + BATCH_ROWS < chunk_rows(index)

    frozen = _freeze_mid_chunk(slices_stack, job_id, slices_left)
    try:
        assert client.post(f"/v1/jobs/{job_id}/cancel").json()["status"] == "cancelling"
    finally:
        os.kill(frozen.pid, signal.SIGCONT)

    done = wait_for(client, job_id, seconds=120)
    assert done["status"] == "cancelled", done
    with storage.open_read(layout.part_key(job_id, frozen.index)) as handle:
        part = pa.ipc.open_file(handle).read_all()
    assert part.num_rows == frozen.rows_scored + BATCH_ROWS
    scored = _results(client, job_id)
    assert len(scored) == done["progress"]["rows_done"] < len(rows)
    assert scored["id"].is_monotonic_increasing and scored["id"].is_unique
    by_id = rows.set_index("id").loc[scored["id"]]
    assert scored["prediction"].tolist() == reference_model("iris").predict(by_id).tolist()
    events = slices_stack.redis().xrange(f"inferq:job:{job_id}:events")
    statuses = [fields[b"status"].decode() for _, fields in events if b"status" in fields]
    assert statuses[-2:] == ["cancelling", "cancelled"]


def test_redis_stalling_in_the_middle_of_a_chunk_costs_no_row(
    slices_stack: Stack, client: httpx.Client
) -> None:
    """Redis stops answering (CLIENT PAUSE, longer than the socket timeout) while a chunk is
    being scored: the chunk task meets the timeout, scores the chunk again once Redis answers,
    and the job succeeds equal to scikit-learn row for row. (A task that ended on the error was
    acknowledged once Redis answered again, and its chunk was never scored: the job hung.)"""
    rows = _rows(30_000, seed=33)
    job_id = _submit_csv(client, rows)
    frozen = _freeze_mid_chunk(slices_stack, job_id, lambda index, rows_scored: rows_scored > 0)
    logs = {log: log.stat().st_size for log in slices_stack.base.glob("worker-*.log")}
    pause_ms = int((slices_stack.settings.redis_socket_timeout + 3) * 1000)
    slices_stack.redis().execute_command("CLIENT", "PAUSE", pause_ms, "ALL")
    os.kill(frozen.pid, signal.SIGCONT)
    for _ in range(6000):  # until a worker warns or errs about the job: it met the silent Redis
        if any(_complains_about(log, seen, job_id) for log, seen in logs.items()):
            break
        time.sleep(0.01)
    else:
        pytest.fail("the chunk task never met the silent Redis")

    done = wait_for(client, job_id, seconds=60)
    assert done["status"] == "succeeded", done
    assert done["progress"]["rows_done"] == len(rows)
    scored = _results(client, job_id)
    assert scored["id"].tolist() == rows["id"].tolist()
    expected = reference_model("iris").predict(rows.drop(columns="id"))
    assert scored["prediction"].tolist() == expected.tolist()


def test_a_chunk_held_longer_than_the_visibility_timeout_is_not_handed_out_again(
    slices_stack: Stack, client: httpx.Client
) -> None:
    """A chunk stopped for three visibility timeouts stays with its worker (which renews its
    message): it is started once, and the job succeeds when it goes on."""
    rows = _rows(20_000, seed=34)
    job_id = _submit_csv(client, rows)
    frozen = _freeze_mid_chunk(slices_stack, job_id, lambda index, rows_scored: rows_scored > 0)
    try:
        time.sleep(3 * VISIBILITY_SECONDS)  # time for a wrongly restored message to be run
        redis = slices_stack.redis()
        assert int(redis.hget(job_chunk_attempts(job_id), str(frozen.index))) == 1
    finally:
        os.kill(frozen.pid, signal.SIGCONT)
    done = wait_for(client, job_id, seconds=60)
    assert done["status"] == "succeeded", done
    assert int(redis.hget(job_chunk_attempts(job_id), str(frozen.index))) == 1
    assert _results(client, job_id)["id"].tolist() == rows["id"].tolist()


def test_a_whole_worker_lost_mid_chunk_hands_its_chunks_to_another(
    slices_stack: Stack, client: httpx.Client
) -> None:
    """Of two workers, the one scoring a chunk dies with all its processes (SIGKILL to its
    process group): the messages it held come back after the visibility timeout, the other
    worker (which looks for them every few seconds) scores them, and the job equals
    scikit-learn row for row."""
    slices_stack.start_worker(concurrency=1)
    rows = _rows(20_000, seed=35)
    job_id = _submit_csv(client, rows)
    frozen = _freeze_mid_chunk(slices_stack, job_id, lambda index, rows_scored: rows_scored > 0)
    parent = int(Path(f"/proc/{frozen.pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    (worker,) = [w for w in slices_stack.workers if w.pid == parent]
    os.killpg(worker.pid, signal.SIGKILL)
    slices_stack.stop_worker(worker)

    done = wait_for(client, job_id, seconds=60)
    assert done["status"] == "succeeded", done
    assert int(slices_stack.redis().hget(job_chunk_attempts(job_id), str(frozen.index))) == 2
    scored = _results(client, job_id)
    assert scored["id"].tolist() == rows["id"].tolist()
    expected = reference_model("iris").predict(rows.drop(columns="id"))
    assert scored["prediction"].tolist() == expected.tolist()


def _complains_about(log: Path, offset: int, job_id: str) -> bool:
    """Whether a warning or error naming the job was logged after `offset`."""
    with log.open("rb") as handle:
        handle.seek(offset)
        new = handle.read().decode(errors="replace")
    return any(
        job_id in line and ('"level":"warning"' in line or '"level":"error"' in line)
        for line in new.splitlines()
    )
