"""The capacity bench's Redis counter, on a real server: a span holds the commands sent inside
it, by name, with script commands counted under their own names too, and never the counter's
own reads; the idle rate learnt is taken out of later spans."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bench.capacity_report import Operation, total
from bench.redis_counts import RedisCounter, RedisWork
from inferq.redis_server import RedisServer


@pytest.fixture
def counted(tmp_path: Path) -> Iterator[tuple[redis.Redis, RedisCounter]]:
    with RedisServer(tmp_path / "redis", appendonly=False) as server:
        client = redis.Redis.from_url(server.url, socket_timeout=5)
        yield client, RedisCounter(redis.Redis.from_url(server.url), server.pid)
        client.close()


def test_a_span_counts_the_commands_sent_inside_it_by_name(
    counted: tuple[redis.Redis, RedisCounter],
) -> None:
    """Three SETs, one GET and a script calling INCR twice count as such; the counter's INFO
    reads and its own watching commands are left out, and bytes in and out are seen."""
    client, counter = counted
    client.set("before", 1)  # outside the span
    with counter.span() as work:
        for n in range(3):
            client.set(f"k{n}", "x" * 100)
        client.get("k0")
        client.eval("redis.call('INCR', 'n'); return redis.call('INCR', 'n')", 0)
        assert counter.ask("DBSIZE") == 5
    calls = work[0].calls
    assert {name: n for name, n in calls.items() if n} == {"set": 3, "get": 1, "eval": 1, "incr": 2}
    assert work[0].commands == 7
    assert work[0].bytes_in > 300  # three 100-byte values went in
    assert work[0].bytes_out > 100  # the GET brought one back


def test_an_empty_span_is_empty(counted: tuple[redis.Redis, RedisCounter]) -> None:
    """Nothing sent: no command and (the counter's own INFO replies taken out) about no bytes."""
    _, counter = counted
    with counter.span() as work:
        pass
    assert work[0].commands == 0
    assert abs(work[0].bytes_in) < 50 and abs(work[0].bytes_out) < 200


def test_the_idle_rate_is_taken_out_of_later_spans(
    counted: tuple[redis.Redis, RedisCounter],
) -> None:
    """What the server did per second while idle is subtracted in proportion to a span's length."""
    client, counter = counted
    counter.idle_per_second = RedisWork(calls=Counter({"set": 1000.0}))
    with counter.span() as work:
        client.set("a", 1)
    assert work[0].calls["set"] < 1  # 1 sent, minus 1000/s over the span's few milliseconds


def test_operations_add_up_per_unit() -> None:
    """A total adds each operation's amount per unit, whatever units each was measured over."""
    submit = Operation("submit", RedisWork(calls=Counter({"set": 20})), {"api": 2.0}, 10)
    expire = Operation("expire", RedisWork(calls=Counter({"del": 40})), {"worker": 1.0}, 40)
    summed = total("total", [submit, expire])
    assert summed.per_unit(summed.work.calls["set"]) == pytest.approx(2)
    assert summed.per_unit(summed.work.calls["del"]) == pytest.approx(1)
    assert summed.per_unit(summed.cpu["api"]) == pytest.approx(0.2)
    assert summed.per_unit(summed.cpu["worker"]) == pytest.approx(0.025)


def test_a_pipeline_is_one_read_and_separate_commands_are_one_each(
    counted: tuple[redis.Redis, RedisCounter],
) -> None:
    """Round trips are counted: ten SETs in one pipeline are one read, three GETs are three."""
    client, counter = counted
    client.ping()  # the connection is made (and its handshake read) before the spans
    with counter.span() as piped:
        pipe = client.pipeline(transaction=False)
        for n in range(10):
            pipe.set(f"p{n}", n)
        pipe.execute()
    with counter.span() as separate:
        for n in range(3):
            client.get(f"p{n}")
    assert piped[0].calls["set"] == 10 and piped[0].reads == 1
    assert separate[0].calls["get"] == 3 and separate[0].reads == 3
