"""Request tokens leased to an API process: taken from the tenant's bucket in Redis ahead of
its requests, never more than the bucket holds, and only while it is over half full."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

from inferq.config import Settings
from inferq.limits import LEASE_SECONDS, LEASE_TOKENS, LimitExceeded, TenantLimits, TokenLeases
from inferq.redis_server import RedisServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A Redis server of this module's own."""
    server = RedisServer(Path(tmp_path_factory.mktemp("leases")), appendonly=False).start()
    try:
        yield server
    finally:
        server.stop()


def _token_trips(client: redis.Redis) -> int:
    """How many times a script took a token in Redis (each reads Redis' clock once)."""
    return int(client.info("commandstats").get("cmdstat_time", {}).get("calls", 0))


def _requests(server: RedisServer, tenant: str, count: int, **own: float) -> tuple[int, int]:
    """Token round trips and 429s for `count` requests of `tenant` through one process's
    `TenantLimits`, the tenant given its `own` limits first."""
    client = redis.Redis.from_url(server.url)
    limits = TenantLimits(client, Settings(), aclient := aioredis.Redis.from_url(server.url))
    if own:
        limits.set_overrides(tenant, own)

    async def send() -> int:
        refused = 0
        for _ in range(count):
            try:
                await limits.take_request_async(tenant)
            except LimitExceeded:
                refused += 1
        await aclient.aclose()
        return refused

    before = _token_trips(client)
    refused = asyncio.run(send())
    return _token_trips(client) - before, refused


def test_a_busy_tenant_spends_leased_tokens_without_a_round_trip(server: RedisServer) -> None:
    """At the default rate (10,000/s) one round trip takes a request's token and leases
    `LEASE_TOKENS` more; the next request past them goes to Redis again."""
    assert _requests(server, "busy", 1 + LEASE_TOKENS) == (1, 0)
    assert _requests(server, "busy2", 2 + LEASE_TOKENS) == (2, 0)


def test_a_low_rate_is_counted_exactly(server: RedisServer) -> None:
    """Under 100 requests/s nothing is leased: every request takes its token in Redis, and
    the one past the burst is refused."""
    assert _requests(server, "slow", 6, rate_limit_per_second=50, rate_limit_burst=5) == (6, 1)


def test_nothing_is_leased_from_a_bucket_that_would_fall_under_half(server: RedisServer) -> None:
    """A burst of 40 cannot spare 32 tokens and stay half full: every request goes to Redis,
    and the burst is kept to the token."""
    trips, refused = _requests(
        server, "narrow", 41, rate_limit_per_second=100_000, rate_limit_burst=40
    )
    assert (trips, refused) == (41, 0)  # it refills 100 tokens a millisecond


def test_leased_tokens_are_dropped_once_their_time_is_up() -> None:
    """A lease is spent within `LEASE_SECONDS` or not at all; a refill is asked for only when
    fewer than half are left."""
    now = [100.0]
    leases = TokenLeases(clock=lambda: now[0])
    assert leases.wanted("t") == LEASE_TOKENS and not leases.take("t")
    leases.add("t", LEASE_TOKENS)
    assert leases.wanted("t") == 0
    assert not leases.take("t", keep=LEASE_TOKENS)
    assert all(leases.take("t") for _ in range(LEASE_TOKENS // 2 + 1))
    assert leases.wanted("t") == LEASE_TOKENS  # 15 left: time to ask for more
    now[0] += LEASE_SECONDS + 0.01
    assert not leases.take("t")
    leases.add("t", 3)
    assert [leases.take("t") for _ in range(4)] == [True, True, True, False]
