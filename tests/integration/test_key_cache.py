"""An API process trusts a key it found for about a second: revocation still takes effect
within that time, and a key never seen is looked up at once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

from inferq.api_keys import KeyStore, digest
from inferq.redis_server import RedisServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A Redis server of this module's own."""
    server = RedisServer(Path(tmp_path_factory.mktemp("keys")), appendonly=False).start()
    try:
        yield server
    finally:
        server.stop()


def test_a_found_key_is_kept_for_the_cache_time_then_looked_up_again(server: RedisServer) -> None:
    """A key removed behind the process's back (another API process revoked it) is still
    trusted within `cache_seconds`, and refused after."""
    admin = KeyStore(_sync(server))

    async def scenario() -> tuple[bool, bool, bool]:
        keys = KeyStore(_sync(server), aclient := _async(server), cache_seconds=0.5)
        record, key = admin.create("acme", ["jobs:read"])
        first = await keys.authenticate_async(key) is not None
        admin.revoke(record.id)  # another process: this one's copy is not dropped
        kept = await keys.authenticate_async(key) is not None
        await asyncio.sleep(0.6)
        gone = await keys.authenticate_async(key) is None
        await aclient.aclose()
        return first, kept, gone

    assert asyncio.run(scenario()) == (True, True, True)


def test_a_revocation_in_this_process_applies_at_once(server: RedisServer) -> None:
    """The process that revokes a key drops its own copy."""

    async def scenario() -> bool:
        keys = KeyStore(_sync(server), aclient := _async(server), cache_seconds=60)
        record, key = keys.create("acme", ["jobs:read"])
        assert await keys.authenticate_async(key) is not None
        keys.revoke(record.id)
        refused = await keys.authenticate_async(key) is None
        await aclient.aclose()
        return refused

    assert asyncio.run(scenario())


def test_an_unknown_key_is_not_kept(server: RedisServer) -> None:
    """A key looked up before it is stored works as soon as it is stored."""
    admin = KeyStore(_sync(server))

    async def scenario() -> tuple[bool, bool]:
        keys = KeyStore(_sync(server), aclient := _async(server), cache_seconds=60)
        record, key = admin.create("acme", ["jobs:read"])
        stored = admin.redis.get(f"inferq:apikey:{digest(key)}")
        admin.revoke(record.id)
        unknown = await keys.authenticate_async(key) is None
        admin.redis.set(f"inferq:apikey:{digest(key)}", stored)  # the key comes back
        found = await keys.authenticate_async(key) is not None
        await aclient.aclose()
        return unknown, found

    assert asyncio.run(scenario()) == (True, True)


def _sync(server: RedisServer) -> redis.Redis:
    return redis.Redis.from_url(server.url)


def _async(server: RedisServer) -> aioredis.Redis:
    return aioredis.from_url(server.url)


def test_requests_that_miss_together_share_one_lookup(server: RedisServer) -> None:
    """64 requests with a key not kept yet cost Redis one GET between them."""
    admin = KeyStore(_sync(server))
    _, key = admin.create("acme", ["jobs:read"])

    def gets() -> int:
        stats = admin.redis.info("commandstats")
        return int(stats.get("cmdstat_get", {}).get("calls", 0))

    async def scenario() -> list[bool]:
        keys = KeyStore(_sync(server), aclient := _async(server), cache_seconds=60)
        found = await asyncio.gather(*(keys.authenticate_async(key) for _ in range(64)))
        await aclient.aclose()
        return [record is not None and record.tenant == "acme" for record in found]

    before = gets()
    assert all(asyncio.run(scenario()))
    assert gets() - before == 1
