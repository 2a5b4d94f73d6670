"""A local Redis primary, a replica and three Sentinels from one server binary, for trying a
failover (`inferq up --redis-ha`) and for the failover tests.

Each part is a `RedisServer` child process bound to `host`; the functions take the host, the
port and the binary so that a harness can run them on other (network namespace) hosts with
`prefix=["ip", "netns", "exec", name]`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import redis

from inferq.redis_server import HOST, RedisServer, RedisServerError, free_port

MASTER_NAME = "inferq"
#: How long a Sentinel waits for an unanswering primary before it counts as down: short, to try.
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 5000


def start_primary(
    data_dir: Path,
    *,
    host: str = HOST,
    port: int | None = None,
    binary: str | None = None,
    prefix: Sequence[str] = (),
) -> RedisServer:
    """A primary (append-only file on), started."""
    return RedisServer(data_dir, port, host=host, binary=binary, prefix=prefix).start()


def start_replica(
    data_dir: Path,
    primary: tuple[str, int],
    *,
    host: str = HOST,
    port: int | None = None,
    binary: str | None = None,
    prefix: Sequence[str] = (),
) -> RedisServer:
    """A replica of `primary` (host, port), started."""
    replicaof = ["--replicaof", primary[0], str(primary[1])]
    server = RedisServer(
        data_dir, port, host=host, binary=binary, prefix=prefix, extra_args=replicaof
    )
    return server.start()


def start_sentinel(
    data_dir: Path,
    primary: tuple[str, int],
    *,
    host: str = HOST,
    port: int | None = None,
    binary: str | None = None,
    prefix: Sequence[str] = (),
    master_name: str = MASTER_NAME,
    quorum: int = 2,
    down_after_ms: int = DOWN_AFTER_MS,
) -> RedisServer:
    """A Sentinel (the server binary with `--sentinel`) watching `primary`, started."""
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir / "sentinel.conf"  # Sentinel rewrites its config file: one each
    config.write_text(
        f"sentinel monitor {master_name} {primary[0]} {primary[1]} {quorum}\n"
        f"sentinel down-after-milliseconds {master_name} {down_after_ms}\n"
        f"sentinel failover-timeout {master_name} {FAILOVER_TIMEOUT_MS}\n"
        f"sentinel parallel-syncs {master_name} 1\n"
    )
    server = RedisServer(
        data_dir,
        port,
        appendonly=False,
        host=host,
        binary=binary,
        prefix=prefix,
        config_file=config,
        extra_args=["--sentinel"],
    )
    return server.start()


class LocalRedisHA:
    """A primary, a replica and three Sentinels on free ports of `host`, under `base`."""

    def __init__(self, base: Path, *, host: str = HOST, binary: str | None = None) -> None:
        self.base = base
        self.host = host
        self.binary = binary
        self.servers: list[RedisServer] = []
        self.sentinels: list[RedisServer] = []

    def start(self) -> LocalRedisHA:
        """Start every part and return once the Sentinels know the replica and each other."""
        host, binary = self.host, self.binary
        primary = start_primary(self.base / "primary", host=host, binary=binary)
        self.servers.append(primary)
        address = (host, primary.port)
        replica = start_replica(self.base / "replica", address, host=host, binary=binary)
        self.servers.append(replica)
        for n in range(3):
            sentinel = start_sentinel(
                self.base / f"sentinel{n}", address, host=host, port=free_port(), binary=binary
            )
            self.sentinels.append(sentinel)
        self.wait_until_ready()
        return self

    @property
    def url(self) -> str:
        """The `redis+sentinel://` URL of database 0."""
        hosts = ",".join(f"{self.host}:{sentinel.port}" for sentinel in self.sentinels)
        return f"redis+sentinel://{hosts}/{MASTER_NAME}/0"

    def primary(self) -> RedisServer:
        """The server the Sentinels name as primary now."""
        address: Any = self.sentinel_client().sentinel_get_master_addr_by_name(MASTER_NAME)
        _, port = address
        return next(server for server in self.servers if server.port == int(port))

    def replica(self) -> RedisServer:
        """A server that is not the primary now."""
        primary = self.primary()
        return next(server for server in self.servers if server is not primary)

    def sentinel_client(self, index: int = 0) -> redis.Redis:
        """A client of one Sentinel."""
        sentinel = self.sentinels[index]
        return redis.Redis(host=self.host, port=sentinel.port, socket_timeout=2)

    def wait_until_ready(self, timeout: float = 30.0) -> None:
        """Wait until every Sentinel sees the replica and the two other Sentinels, so that a
        failover can be agreed on."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self._sees_everyone(i) for i in range(len(self.sentinels))):
                return
            time.sleep(0.1)
        raise RedisServerError(f"the Sentinels did not find each other within {timeout}s")

    def _sees_everyone(self, index: int) -> bool:
        try:
            state: Any = self.sentinel_client(index).sentinel_master(MASTER_NAME)
        except redis.RedisError:
            return False
        others = len(self.sentinels) - 1
        return bool(state["num-slaves"] >= 1 and state["num-other-sentinels"] >= others)

    def stop(self) -> None:
        """Stop the Sentinels, then the servers."""
        for server in [*self.sentinels, *self.servers]:
            server.stop()

    def __enter__(self) -> LocalRedisHA:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
