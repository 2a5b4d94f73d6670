"""Redis connections for job state, tuned so an unreachable server fails fast instead of hanging."""

from __future__ import annotations

from functools import lru_cache

import redis

from inferq.config import Settings, get_settings

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


@lru_cache
def shared_redis() -> redis.Redis:
    """The process-wide client (connection-pooled, thread-safe) for the process settings."""
    return make_redis(get_settings())
