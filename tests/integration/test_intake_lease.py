"""A file job whose API process dies while taking its upload in fails soon, with a reason,
instead of waiting for its deadline; a slow upload that outlives several leases is not failed."""

from __future__ import annotations

import io
import os
import signal
import threading
import time
from collections.abc import Iterator

import httpx
import pandas as pd
import pytest

from inferq.jobs.keys import INTAKES_ZSET, job
from tests.helpers import demo_rows, reference_model, wait_for
from tests.stack import Stack

LEASE_SECONDS = 2.0


@pytest.fixture(scope="module")
def lease_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Intake leases of 2 s, swept every 0.3 s; small chunks, so a job exists early on."""
    stack = Stack(
        tmp_path_factory.mktemp("intake"),
        intake_lease_seconds=str(LEASE_SECONDS),
        sweep_seconds="0.3",
        file_chunk_bytes="4096",
    )
    with stack.running(workers=1):
        yield stack


def _csv_lines(count: int, seed: int) -> tuple[bytes, list[bytes]]:
    rows = demo_rows("iris", count, seed=seed)
    text = rows.to_csv(index=False).encode()
    header, *lines = text.splitlines(keepends=True)
    return header, lines


def _upload(stack: Stack, pieces: Iterator[bytes], outcome: list[object]) -> threading.Thread:
    """POST the pieces as a streamed CSV body in a thread; the answer (or error) goes to
    `outcome`."""

    def send() -> None:
        try:
            with stack.client(timeout=60) as client:
                outcome.append(
                    client.post(
                        "/v1/jobs",
                        params={"model": "iris"},
                        content=pieces,
                        headers={"content-type": "text/csv"},
                    )
                )
        except httpx.HTTPError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def _wait(condition: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_job_whose_api_process_dies_mid_upload_fails_as_interrupted(lease_stack: Stack) -> None:
    """SIGKILL of the API while a CSV streams in, after its first chunks made the job: the
    workers' sweep fails it `intake_interrupted` once the lease runs out (not in a day)."""
    header, lines = _csv_lines(600, seed=3)
    stall = threading.Event()

    def pieces() -> Iterator[bytes]:
        yield header + b"".join(lines[:300])  # several 4 KiB chunks: the job is stored
        stall.wait(30)  # the rest never comes: the API dies first
        yield b"".join(lines[300:])

    outcome: list[object] = []
    sender = _upload(lease_stack, pieces(), outcome)
    redis = lease_stack.redis()
    _wait(lambda: any(redis.exists(job(i.decode())) for i in redis.zrange(INTAKES_ZSET, 0, -1)), 30)
    (job_id,) = [i.decode() for i in redis.zrange(INTAKES_ZSET, 0, -1)]
    killed_at = time.monotonic()
    assert lease_stack.api is not None
    api = lease_stack.api
    os.kill(api.pid, signal.SIGKILL)
    _wait(lambda: api.poll() is not None, 10)
    stall.set()
    sender.join(30)
    assert outcome and isinstance(outcome[0], httpx.HTTPError)  # the client saw the upload fail

    lease_stack.start_api()
    with lease_stack.client(timeout=30) as client:
        ended = wait_for(client, job_id, seconds=30)
    assert ended["status"] == "failed", ended
    assert ended["error"]["code"] == "intake_interrupted"
    assert time.monotonic() - killed_at < 20  # the lease (2 s) and a sweep, not the deadline
    assert redis.zscore(INTAKES_ZSET, job_id) is None


def test_a_slow_upload_keeps_its_lease_and_succeeds(lease_stack: Stack) -> None:
    """An upload that takes three leases' time (pieces a second apart) is renewed as it goes:
    its job succeeds with every row, and no lease is left behind."""
    header, lines = _csv_lines(300, seed=4)
    parts = [header + b"".join(lines[:100]), b"".join(lines[100:200]), b"".join(lines[200:])]

    def pieces() -> Iterator[bytes]:
        for number, part in enumerate(parts):
            if number:
                time.sleep(LEASE_SECONDS * 1.5)
            yield part

    outcome: list[object] = []
    _upload(lease_stack, pieces(), outcome).join(60)
    (response,) = outcome
    assert isinstance(response, httpx.Response) and response.status_code == 202, response
    with lease_stack.client(timeout=30) as client:
        job_id = response.json()["id"]
        done = wait_for(client, job_id, seconds=60)
        assert done["status"] == "succeeded", done
        answer = client.get(f"/v1/jobs/{job_id}/results", params={"format": "csv"})
    assert answer.status_code == 200, answer.text
    scored = pd.read_csv(io.BytesIO(answer.content))
    expected = reference_model("iris").predict(demo_rows("iris", 300, seed=4))
    assert scored["prediction"].tolist() == expected.tolist()
    assert lease_stack.redis().zcard(INTAKES_ZSET) == 0


def test_a_refused_upload_leaves_no_lease(lease_stack: Stack) -> None:
    """An upload refused for its columns (422, no job stored) lets go of its lease at once."""
    with lease_stack.client(timeout=30) as client:
        response = client.post(
            "/v1/jobs",
            params={"model": "iris"},
            content=b"colour,size\nred,3\n",
            headers={"content-type": "text/csv"},
        )
    assert response.status_code == 422, response.text
    assert lease_stack.redis().zcard(INTAKES_ZSET) == 0
