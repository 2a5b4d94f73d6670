"""A demoted primary's READONLY reply is a failover, not a failure: the API's multiplexed
connection (job submissions and polls) sends the write again to the primary the Sentinels name
now."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from inferq.redis_multiplex import MultiplexedRedis
from tests.redis_ha import MASTER_NAME, LocalRedisHA


@pytest.fixture
def ha(tmp_path: Path) -> Iterator[LocalRedisHA]:
    """A primary, a replica and three Sentinels of this test's own."""
    with LocalRedisHA(tmp_path / "ha") as servers:
        yield servers


def demote_quietly(ha: LocalRedisHA) -> None:
    """Swap the roles by hand while the Sentinels look away, keeping every client connection
    open (Sentinel's own failover closes them), then point the Sentinels at the new primary."""
    old, new = ha.primary(), ha.replica()
    sentinels = [ha.sentinel_client(i) for i in range(len(ha.sentinels))]
    for sentinel in sentinels:
        sentinel.execute_command("SENTINEL", "REMOVE", MASTER_NAME)
    redis.Redis(host=ha.host, port=new.port).replicaof("NO", "ONE")
    redis.Redis(host=ha.host, port=old.port).replicaof(ha.host, new.port)
    for sentinel in sentinels:
        sentinel.execute_command("SENTINEL", "MONITOR", MASTER_NAME, ha.host, new.port, 2)
    with pytest.raises(redis.ReadOnlyError):
        redis.Redis(host=ha.host, port=old.port).set("probe", 1)


def test_writes_after_a_demotion_go_to_the_new_primary(ha: LocalRedisHA) -> None:
    """A connection to the old primary gets READONLY on its next write and answers it by
    writing to the new primary, without an error reaching the caller."""

    async def scenario() -> list[object]:
        multiplexed = MultiplexedRedis(ha.url, timeout=5)
        await multiplexed.execute("SET", "multiplexed", "before")
        demote_quietly(ha)
        await multiplexed.execute("SET", "multiplexed", "after")
        await multiplexed.aclose()
        new = redis.Redis(host=ha.host, port=ha.primary().port)
        return new.mget("multiplexed")

    assert asyncio.run(scenario()) == [b"after"]
