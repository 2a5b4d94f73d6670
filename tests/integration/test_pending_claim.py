"""Claiming small jobs: Redis's clock in the claim script, a claim that waits for work, and
the batcher's one round trip that ends a batch and claims the next."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
import pytest
import redis

from inferq.ids import new_job_id
from inferq.jobs import sync
from inferq.jobs.pending import LEASES, REDIS_CLOCK_LUA, PendingJobs
from inferq.jobs.record import JobRecord
from inferq.jobs.store import InlineOutcome, JobStore
from inferq.redis_client import pipelined
from inferq.redis_server import RedisServer
from inferq.timefmt import now_rfc3339, rfc3339
from inferq.usage import keys as usage_keys
from inferq.usage.counting import BatchUsage, UsageMeter


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[redis.Redis]:
    """A client of a Redis server of this module's own."""
    server = RedisServer(tmp_path_factory.mktemp("pending"), appendonly=False).start()
    try:
        yield redis.Redis.from_url(server.url)
    finally:
        server.stop()


MOMENTS = [
    0.0,
    951_782_400.5,  # 2000-02-29T00:00:00.500Z, a leap day of a century leap year
    4_107_542_399.999_999,  # 2100-02-28T23:59:59.999Z, 2100 is not a leap year
    1_798_761_599.0015,  # 2026-12-31T23:59:59.001Z
    1_798_761_600.0,  # 2027-01-01T00:00:00.000Z
    1_795_461_234.567_89,
]


@pytest.mark.parametrize("moment", MOMENTS)
def test_the_scripts_clock_text_is_the_one_python_writes(
    client: redis.Redis, moment: float
) -> None:
    """The claim script stamps `started_at` in Lua exactly as inferq.timefmt would."""
    secs = int(moment)
    micros = round((moment - secs) * 1e6)
    text = client.eval(
        REDIS_CLOCK_LUA + "return rfc3339(tonumber(ARGV[1]), tonumber(ARGV[2]))", 0, secs, micros
    )
    assert text.decode() == rfc3339(secs + micros / 1e6)


def _queue_job(store: JobStore) -> str:
    record = JobRecord(
        id=new_job_id(),
        tenant="default",
        model_name="iris",
        model_version=1,
        created_at=now_rfc3339(),
        rows_total=1,
        expires_at=time.time() + 3600,
        deadline_at=time.time() + 3600,
    )
    rows = {"columns": ["a"], "data": [[1.0]]}
    store.create(record, orjson.dumps(rows))
    return record.id


def test_a_waiting_claim_takes_a_job_queued_during_the_wait_and_stamps_the_claims_time(
    client: redis.Redis,
) -> None:
    """A claim that waits behind the doorbell takes the job queued meanwhile, with a start
    time and lease counted from when it was claimed, not from when the wait began."""
    store = JobStore(client, 3600)
    pending = PendingJobs(client)
    assert pending.claim("tester", 10, 30.0) == []  # lanes empty, doorbell silenced
    queued: list[str] = []
    timer = threading.Timer(0.4, lambda: queued.append(_queue_job(store)))
    timer.start()
    began = time.time()
    claimed = pending.claim("tester", 10, 30.0, wait=5.0)
    timer.join()  # the claim may return before the timer's thread has noted the id
    assert [job.record.id for job in claimed] == queued
    started = datetime.fromisoformat(claimed[0].record.started_at.replace("Z", "+00:00"))
    assert started.timestamp() >= began + 0.35
    assert claimed[0].record.status.value == "running" and claimed[0].rows is not None
    lease_end = client.zscore("inferq:leases", queued[0])
    assert lease_end == pytest.approx(started.astimezone(UTC).timestamp() + 30.0, abs=0.01)


def test_a_waiting_claim_gives_up_empty_when_nothing_comes(client: redis.Redis) -> None:
    """With nothing queued the claim returns empty once its wait is over."""
    pending = PendingJobs(client)
    began = time.monotonic()
    assert pending.claim("tester", 10, 30.0, wait=0.3) == []
    assert time.monotonic() - began >= 0.25


def test_a_waiting_claim_loads_its_script_when_redis_lost_it(client: redis.Redis) -> None:
    """After SCRIPT FLUSH (a Redis restart without persistence of scripts) the claim still
    takes the queued job."""
    store = JobStore(client, 3600)
    pending = PendingJobs(client)
    job_id = _queue_job(store)
    client.script_flush()
    assert [job.record.id for job in pending.claim("tester", 10, 30.0, wait=1.0)] == [job_id]


def test_a_batch_ends_and_the_next_is_claimed_in_one_round_trip(client: redis.Redis) -> None:
    """The batcher's turn: the finish script, the next claim and the metrics in one pipeline,
    even after Redis lost its scripts: each step gets its own reply."""
    client.delete("counted")
    store = JobStore(client, 3600)
    first = _queue_job(store)
    [held] = store.pending.claim("tester", 10, 30.0)
    second = _queue_job(store)
    client.script_flush()  # the scripts are lost: both are loaded and run again, in order
    finish = store.finish_inline_call([InlineOutcome(first, result=b'{"data": [[1]]}', rows=1)])
    claim = store.pending.claim_call("tester", 10, 30.0)
    replies = pipelined(client, finish, claim, lambda pipe: pipe.hincrby("counted", "jobs", 1))
    assert held.record.id == first
    assert store.get(first).status.value == "succeeded"
    assert [job.record.id for job in store.pending.claimed(replies[1])] == [second]
    assert replies[2] == 1 and client.hget("counted", "jobs") == b"1"


def test_a_failing_step_of_a_pipeline_does_not_hide_the_others(client: redis.Redis) -> None:
    """Each step gets its own reply or error: a wrong-type command fails alone."""
    client.delete("a-list", "a-number")
    client.rpush("a-list", "x")
    replies = pipelined(
        client,
        lambda pipe: pipe.incr("a-list"),  # WRONGTYPE
        lambda pipe: (pipe.incr("a-number"), pipe.incr("a-number")),
        lambda pipe: None,  # queues nothing
    )
    assert isinstance(replies[0], redis.ResponseError) and "WRONGTYPE" in str(replies[0])
    assert replies[1:] == [2, None]


def test_leases_run_by_redis_clock_whatever_the_workers_clock_says(
    client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker whose clock is two minutes off neither loses the jobs it renews nor takes back
    another's jobs early: renewal and expiry both read Redis's clock."""
    client.delete(LEASES)
    store = JobStore(client, 3600)
    job_id = _queue_job(store)
    [job] = store.pending.claim("tester", 10, 30.0)
    real_time = time.time
    for skew in (-120.0, 120.0):
        monkeypatch.setattr(time, "time", lambda skew=skew: real_time() + skew)
        store.pending.renew([job_id], 30.0)
        secs, micros = client.time()
        assert client.zscore(LEASES, job_id) == pytest.approx(secs + micros / 1e6 + 30.0, abs=1)
        assert store.pending.requeue_expired(max_attempts=3) == 0
    client.zadd(LEASES, {job_id: secs - 1.0})  # the lease ran out: the worker was lost
    assert store.pending.requeue_expired(max_attempts=3) == 1
    assert store.get(job.record.id).status.value == "queued"


def test_a_batch_ended_twice_counts_its_usage_once(client: redis.Redis) -> None:
    """Two batchers that both scored a job and a sync request (the first one's lease ran out)
    both end them: the job's usage is added by the transition that ends it, the request's by
    the release of its held entry, so each counts once."""
    store = JobStore(client, 3600)
    job_id = _queue_job(store)
    store.pending.claim("tester", 10, 30.0)
    client.hset(sync.HELD, "req-1", "entry")
    meter = UsageMeter()
    usage = BatchUsage(
        {job_id: meter.entry("metered", "iris", rows_scored=1, cpu_us=10)},
        [("req-1", meter.entry("metered", "iris", rows_scored=4, cpu_us=40))],
    )
    outcome = InlineOutcome(job_id, result=b'{"data": [[1]]}', rows=1)
    for _ in range(2):
        store.finish_inline_call([outcome], usage).run()
    day = client.hgetall(usage_keys.day_key("metered", usage_keys.today()))
    assert day == {b"iris|rows_scored": b"5", b"iris|cpu_us": b"50"}
    assert client.hget(usage_keys.TENANT_ROWS, "metered") == b"5"
    assert not client.hexists(sync.HELD, "req-1")
