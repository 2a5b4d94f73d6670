"""Redis high availability for tests: a primary, a replica and three Sentinels (the helpers of
`inferq.redis_ha`, which take host, port, binary and a command prefix so that a multi-host
harness can start them inside `ip netns exec`), and a Stack whose processes use them."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import redis

from inferq.config import Settings
from inferq.redis_client import make_redis
from inferq.redis_ha import (
    MASTER_NAME,
    LocalRedisHA,
    start_primary,
    start_replica,
    start_sentinel,
)
from inferq.redis_server import RedisServer
from tests.stack import Stack

__all__ = [
    "MASTER_NAME",
    "HAStack",
    "LocalRedisHA",
    "fail_over",
    "start_primary",
    "start_replica",
    "start_sentinel",
]


def fail_over(ha: LocalRedisHA, *, kill: bool = False, timeout: float = 30.0) -> RedisServer:
    """Move the primary to the replica, by `SENTINEL FAILOVER` or by SIGKILLing the primary,
    and return the new primary once every Sentinel names it."""
    old = ha.primary()
    if kill:
        assert old.pid is not None, "the primary is not running"
        os.kill(old.pid, signal.SIGKILL)
    else:
        ha.sentinel_client().execute_command("SENTINEL", "FAILOVER", MASTER_NAME)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        named = {_named_port(ha, i) for i in range(len(ha.sentinels))}
        if len(named) == 1 and old.port not in named and None not in named:
            return ha.primary()
        time.sleep(0.1)
    raise TimeoutError(f"the Sentinels did not agree on a new primary within {timeout}s")


def _named_port(ha: LocalRedisHA, index: int) -> int | None:
    try:
        _, port = ha.sentinel_client(index).sentinel_get_master_addr_by_name(MASTER_NAME)
    except (redis.RedisError, TypeError):
        return None
    return int(port)


class HAStack(Stack):
    """A Stack whose processes find Redis through Sentinels (`redis+sentinel://`)."""

    def __init__(self, base: Path, **settings: str) -> None:
        super().__init__(base, **settings)
        self.ha = LocalRedisHA(base / "redis-ha")

    @property
    def redis_url(self) -> str:
        return self.ha.url

    def redis(self) -> redis.Redis:
        """A client of the current primary (it follows a failover)."""
        return make_redis(Settings(redis_url=self.ha.url))

    def start_redis(self) -> HAStack:
        self.ha.start()
        return self

    def stop(self) -> None:
        super().stop()
        self.ha.stop()
