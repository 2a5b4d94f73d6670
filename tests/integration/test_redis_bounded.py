"""Redis memory stays bounded under a stream of jobs: once retention has passed, every key a job
made is gone and the shared sets, sorted sets and lists are back to their size before it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from inferq.jobs.pending import DOORBELL
from inferq.monitoring.keys import provisional_rows
from inferq.redis_server import free_port
from tests.helpers import demo_rows, submit, wait_for
from tests.stack import Stack
from tests.webhook_receiver import Receiver

IRIS = [5.1, 3.5, 1.4, 0.2]
#: The metrics hashes have a fixed set of fields (histogram buckets, statuses, label values) that
#: fill in as values first occur, so their sizes are not compared; the doorbell is capped instead.
#: A model version's monitoring state (issue 21) grows by design until its provisional reference
#: is complete (at most `monitoring_provisional_rows` rows), then its minute counts expire: it is
#: checked against that cap instead.
NOT_COMPARED = ("inferq:metrics:", DOORBELL, "inferq:monitor:")
DOORBELL_CAP = 64
_SIZE = {"hash": "hlen", "zset": "zcard", "set": "scard", "list": "llen", "stream": "xlen"}


@pytest.fixture
def short_stack(tmp_path: Path) -> Iterator[Stack]:
    """A stack keeping jobs 12 s and their records 2 s more, sweeping often, with small chunks."""
    stack = Stack(
        tmp_path / "short",
        retention_seconds="12",
        record_grace_seconds="2",
        sweep_seconds="0.3",
        file_chunk_bytes="4096",
    )
    with stack.running(workers=2):
        yield stack


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    """A webhook receiver process answering 200."""
    with open(tmp_path / "receiver.log", "ab") as log:
        started = Receiver(free_port(), log).start()
        try:
            yield started
        finally:
            started.stop()


def footprint(client: redis.Redis) -> dict[str, tuple[str, int]]:
    """Every key (but the metrics and the doorbell) with its type and number of members."""
    found = {}
    for raw in client.scan_iter(count=1000):
        name = raw.decode(errors="replace")
        if name.startswith(NOT_COMPARED):
            continue
        kind = client.type(raw).decode()
        size = getattr(client, _SIZE[kind])(raw) if kind in _SIZE else 1
        found[name] = (kind, size)
    return found


def run_stream(client: httpx.Client, rounds: int, webhook_url: str, tag: str) -> list[str]:
    """Submit `rounds` times a mix of jobs and let each end: JSON jobs (some idempotent), a CSV
    file of several chunks, a job with a webhook, a cancelled, a deleted and a failed job."""
    ids = []
    for round_index in range(rounds):
        for i in range(10):
            headers = {"Idempotency-Key": f"{tag}-{round_index}-{i}"} if i % 2 else {}
            body = {"model": "iris", "instances": [IRIS] * (i + 1)}
            ids.append(submit(client, body, headers=headers)["id"])
        rows = demo_rows("iris", 600, seed=round_index).to_csv(index=False).encode()
        response = client.post(
            "/v1/jobs?model=iris", content=rows, headers={"content-type": "text/csv"}
        )
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
        webhook = {"url": webhook_url}
        ids.append(submit(client, {"model": "iris", "instances": [IRIS], "webhook": webhook})["id"])
        cancelled = submit(client, {"model": "iris", "instances": [IRIS] * 50})["id"]
        client.post(f"/v1/jobs/{cancelled}/cancel")
        ids.append(cancelled)
        late = {"model": "iris", "instances": [IRIS], "deadline_seconds": 0.001}
        ids.append(submit(client, late)["id"])
        deleted = submit(client, {"model": "iris", "instances": [IRIS]})["id"]
        wait_for(client, deleted)
        assert client.delete(f"/v1/jobs/{deleted}").status_code == 204
    for job_id in ids:
        # On a slow machine a job may expire before this loop reaches it: that is an end too.
        job = client.get(f"/v1/jobs/{job_id}", params={"wait": 60}).json()
        assert job["status"] in {"succeeded", "failed", "cancelled", "expired"}, job
    return ids


def settle(stack: Stack, done: object, what: str) -> dict[str, tuple[str, int]]:
    """Wait (bounded) until `done(footprint)` holds, then return that footprint."""
    client = stack.redis()
    for _ in range(600):
        now = footprint(client)
        if done(now):  # type: ignore[operator]
            return now
        time.sleep(0.1)
    pytest.fail(f"Redis never got back to {what}; left: {sorted(now.items())}")


def _no_job_left(now: dict[str, tuple[str, int]]) -> bool:
    transient = ("inferq:job:", "inferq:idem:", "inferq:rate:", "inferq:jobs:")
    return not any(name.startswith(transient) for name in now)


def test_redis_returns_to_its_size_after_a_stream_of_jobs_has_expired(
    short_stack: Stack, receiver: Receiver
) -> None:
    """After a first stream has expired, a stream four times as long leaves Redis with the same
    keys and the same sizes of every shared set, sorted set, list and stream once it expired;
    the jobs' files are gone from storage too."""
    secret = None
    with short_stack.client(timeout=60) as client:
        secret = client.post("/v1/webhook-secrets", json={"previous_valid_seconds": 0})
        assert secret.status_code == 201, secret.text
        run_stream(client, 1, receiver.url, "warm")
        baseline = settle(short_stack, _no_job_left, "no job left")
        ids = run_stream(client, 4, receiver.url, "long")
        assert len(ids) > 4 * 10
        settle(short_stack, lambda now: now == baseline, f"its baseline {sorted(baseline.items())}")
    assert short_stack.redis().llen(DOORBELL) <= DOORBELL_CAP
    sampled = short_stack.redis().get(provisional_rows("iris", 1))
    assert int(sampled or 0) <= short_stack.settings.monitoring_provisional_rows
    jobs_folder = short_stack.settings.var_dir / "data" / "jobs"
    assert not jobs_folder.exists() or not any(jobs_folder.iterdir())
