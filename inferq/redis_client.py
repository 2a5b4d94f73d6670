"""Redis connections for job state, tuned so an unreachable server fails fast instead of hanging."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypedDict

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.commands.core import Script
from redis.connection import HiredisRespSerializer
from redis.exceptions import NoScriptError
from redis.typing import EncodableT

from inferq.config import Settings, get_settings
from inferq.redis_multiplex import MultiplexedRedis
from inferq.redis_sentinel import is_sentinel_url, parse_sentinel_url

#: What redis-py raises when the server is down or too slow: callers map these to "unavailable".
REDIS_UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError)


Write = Callable[[Any], object]
"""A function that queues commands on a Redis pipeline."""


class ScriptArgs(TypedDict):
    """The keys and arguments of one script call, as `script(**call)` takes them."""

    keys: list[Any]
    args: list[Any]


def decoded(value: bytes | str) -> str:
    """A reply's text: our clients answer bytes (redis-py's types allow either)."""
    return value.decode() if isinstance(value, bytes) else value


class RedisNotConfigured(RuntimeError):
    """INFERQ_REDIS_URL is unset in a process that needs Redis (only `make run` starts one)."""


def make_redis(settings: Settings) -> redis.Redis:
    """A client for the configured Redis; raises RedisNotConfigured when no URL is set.

    Every process builds its clients here (or in `make_async_redis`): with a
    `redis+sentinel://` URL they find the primary through the Sentinels and follow a failover.
    """
    url = _url(settings)
    options: dict[str, Any] = {
        "socket_connect_timeout": 1.0,
        "socket_timeout": settings.redis_socket_timeout,
        "health_check_interval": 15,
        "retry_on_timeout": False,
    }
    if is_sentinel_url(url):
        return parse_sentinel_url(url).sync_client(**options)
    return redis.Redis.from_url(url, **options)


def _url(settings: Settings) -> str:
    if not settings.redis_url:
        raise RedisNotConfigured("INFERQ_REDIS_URL is not set")
    return settings.redis_url


def make_async_redis(settings: Settings, *, blocking_reads: bool = False) -> aioredis.Redis:
    """An asyncio client for the API's event loop, tuned like `make_redis`.

    A connection that Redis closed (it restarted) is retried at once on a new one; from a URL,
    redis-py's async client would otherwise not retry at all and answer the first request after
    a restart with an error. `blocking_reads` (pub/sub, SSE) drops the read timeout.
    """
    url = _url(settings)
    options: dict[str, Any] = {
        "socket_connect_timeout": 1.0,
        "socket_timeout": None if blocking_reads else settings.redis_socket_timeout,
        "health_check_interval": 15,
        "retry": AsyncRetry(ExponentialBackoff(cap=0.5, base=0.05), 2),
        "retry_on_error": [redis.ConnectionError],
    }
    if is_sentinel_url(url):
        client = parse_sentinel_url(url).async_client(**options)
    else:
        client = aioredis.Redis.from_url(url, **options)
    pool = client.connection_pool
    # A class is hashable (typeshed's lru_cache stub says otherwise for classes).
    pool.connection_class = _hiredis_packing(pool.connection_class)  # type: ignore[arg-type]
    return client


def make_multiplexed_redis(settings: Settings) -> MultiplexedRedis | None:
    """One shared connection for the API's hottest commands (see `MultiplexedRedis`); None
    for a URL it does not speak (TLS), whose callers then use `make_async_redis`."""
    try:
        return MultiplexedRedis(_url(settings), timeout=settings.redis_socket_timeout)
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
        return self._serializer.pack(*args)  # type: ignore[arg-type]  # redis-py's stub: lists


@lru_cache
def shared_redis() -> redis.Redis:
    """The process-wide client (connection-pooled, thread-safe) for the process settings."""
    return make_redis(get_settings())


@dataclass(frozen=True)
class ScriptCall:
    """One call of a registered Lua script, to run alone or in a pipeline (`pipelined`)."""

    script: Script
    keys: list[Any]
    args: list[Any]

    def run(self) -> Any:
        """Call the script now (loading it again if Redis lost it)."""
        return self.script(keys=self.keys, args=self.args)

    def queue(self, pipe: Any) -> None:
        """Queue the call on a pipeline by its SHA (`pipelined` handles a lost script)."""
        pipe.evalsha(self.script.sha, len(self.keys), *self.keys, *self.args)


def pipelined(client: redis.Redis, *steps: ScriptCall | Write) -> list[Any]:
    """Run `steps` in order in one round trip (not a transaction) and return each step's last
    reply, or the error it got: one step's error does not hide the others' replies.

    A script Redis no longer holds (it restarted) is loaded and called again on its own, after
    the round trip. A lost connection raises as usual.
    """
    pipe = client.pipeline(transaction=False)
    ends = []
    for step in steps:
        if isinstance(step, ScriptCall):
            step.queue(pipe)
        else:
            step(pipe)
        ends.append(len(pipe))
    replies = pipe.execute(raise_on_error=False)
    results, start = [], 0
    for step, end in zip(steps, ends, strict=True):
        part, start = replies[start:end], end
        if isinstance(step, ScriptCall) and isinstance(part[0], NoScriptError):
            try:
                part = [step.run()]
            except redis.ResponseError as exc:
                part = [exc]
        errors = [reply for reply in part if isinstance(reply, Exception)]
        results.append(errors[0] if errors else part[-1] if part else None)
    return results
