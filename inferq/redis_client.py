"""Redis connections for job state, tuned so an unreachable server fails fast instead of hanging."""

from __future__ import annotations

from functools import lru_cache

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.connection import HiredisRespSerializer
from redis.typing import EncodableT

from inferq.config import Settings, get_settings
from inferq.redis_multiplex import MultiplexedRedis

#: What redis-py raises when the server is down or too slow: callers map these to "unavailable".
REDIS_UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError)


class RedisNotConfigured(RuntimeError):
    """INFERQ_REDIS_URL is unset in a process that needs Redis (only `make run` starts one)."""


def make_redis(settings: Settings) -> redis.Redis:
    """A client for the configured Redis; raises RedisNotConfigured when no URL is set."""
    if not settings.redis_url:
        raise RedisNotConfigured("INFERQ_REDIS_URL is not set")
    return redis.Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=1.0,
        socket_timeout=settings.redis_socket_timeout,
        health_check_interval=15,
        retry_on_timeout=False,
    )


def make_async_redis(settings: Settings, *, blocking_reads: bool = False) -> aioredis.Redis:
    """An asyncio client for the API's event loop, tuned like `make_redis`.

    A connection that Redis closed (it restarted) is retried at once on a new one; from a URL,
    redis-py's async client would otherwise not retry at all and answer the first request after
    a restart with an error. `blocking_reads` (pub/sub, SSE) drops the read timeout.
    """
    if not settings.redis_url:
        raise RedisNotConfigured("INFERQ_REDIS_URL is not set")
    client = aioredis.Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=1.0,
        socket_timeout=None if blocking_reads else settings.redis_socket_timeout,
        health_check_interval=15,
        retry=AsyncRetry(ExponentialBackoff(cap=0.5, base=0.05), 2),
        retry_on_error=[redis.ConnectionError],
    )
    pool = client.connection_pool
    pool.connection_class = _hiredis_packing(pool.connection_class)
    return client


def make_multiplexed_redis(settings: Settings) -> MultiplexedRedis | None:
    """One shared connection for the API's hottest commands (see `MultiplexedRedis`); None
    for a URL it does not speak (TLS), whose callers then use `make_async_redis`."""
    if not settings.redis_url:
        raise RedisNotConfigured("INFERQ_REDIS_URL is not set")
    try:
        return MultiplexedRedis(settings.redis_url, timeout=settings.redis_socket_timeout)
    except ValueError:
        return None


@lru_cache
def _hiredis_packing(connection_class: type) -> type:
    """`connection_class` (TCP, Unix socket or TLS) packing its commands with hiredis."""
    return type(connection_class.__name__, (_HiredisPacking, connection_class), {})


class _HiredisPacking:
    """Packs commands with hiredis, as redis-py's sync connections do.

    redis-py's asyncio connection packs in Python, joining the bytes again for every argument:
    for the job submission script (~60 arguments) that was a tenth of the API's CPU (py-spy,
    issue 6).
    """

    _serializer = HiredisRespSerializer()

    def pack_command(self, *args: EncodableT) -> list[bytes]:
        return self._serializer.pack(*args)


@lru_cache
def shared_redis() -> redis.Redis:
    """The process-wide client (connection-pooled, thread-safe) for the process settings."""
    return make_redis(get_settings())
