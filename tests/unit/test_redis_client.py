"""The asyncio Redis client's command packing."""

from __future__ import annotations

import pytest
import redis
from redis.asyncio.connection import Connection

from inferq.config import Settings
from inferq.redis_client import make_async_redis

COMMANDS = [
    ("EVALSHA", "0123abcd", 2, b"jobs:1", "tenant", 1.5, 0.1, 1e20, -7, b"\x00\xff"),
    ("CONFIG GET", "maxmemory"),
    (b"CLIENT SETNAME", "inferq-api"),
    ("SET", "k", "é" * 5000),
]


@pytest.mark.parametrize("args", COMMANDS)
def test_async_connections_send_the_bytes_redis_py_would(args: tuple) -> None:
    """Commands packed by hiredis on the API's connections are byte for byte redis-py's own."""
    client = make_async_redis(Settings(redis_url="redis://127.0.0.1:1/0"))
    ours = client.connection_pool.connection_class()
    assert type(ours) is not Connection
    assert b"".join(ours.pack_command(*args)) == b"".join(Connection().pack_command(*args))


def test_a_value_redis_cannot_take_is_refused_as_redis_py_does() -> None:
    """A bool is a DataError, not a crash or a silent "True"."""
    ours = make_async_redis(Settings(redis_url="redis://127.0.0.1:1/0")).connection_pool
    with pytest.raises(redis.DataError):
        ours.connection_class().pack_command("SET", "k", True)
