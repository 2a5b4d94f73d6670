"""inferq as `make run` starts it, on a Redis the bench starts, with a counter on that Redis."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import redis

from bench.capacity_report import Operation
from bench.launched import LaunchedService
from bench.redis_counts import RedisCounter, RedisWork
from inferq.jobs import keys
from inferq.redis_server import RedisServer

WAIT_TIMEOUT = 600.0
"""Longest the bench waits for the stack to finish what it was given."""


class CountedService:
    """A launched inferq on a bench-started Redis, with a counter on that Redis."""

    def __init__(self, base: Path, settings: dict[str, str]) -> None:
        self.redis_server = RedisServer(base / "redis").start()  # as the launcher starts one
        settings = {"redis_url": self.redis_server.url, **settings}
        self.service = LaunchedService(base / "service", settings)
        try:
            self.service.start()
        except BaseException:
            self.service.stop()
            self.redis_server.stop()
            raise
        self.http = httpx.Client(
            base_url=self.service.url,
            headers={"Authorization": f"Bearer {self.service.key}"},
            timeout=600,
        )
        self.counter = RedisCounter(
            redis.Redis.from_url(self.redis_server.url), self.redis_server.pid
        )
        self.idle_cpu: dict[str, float] = {}  # CPU s per s each part spends with nothing to do
        self._stopped: set[str] = set()

    def learn_idle(self, seconds: float) -> RedisWork:
        """Measure Redis's and each part's work per second while idle; spans then drop it."""
        before = self.service.cpu_seconds()
        idle = self.counter.learn_idle(seconds)
        after = self.service.cpu_seconds()
        self.idle_cpu = {part: (after[part] - before.get(part, 0.0)) / seconds for part in after}
        return idle

    def operation(self, name: str, units: int, action: Callable[[], Any]) -> Operation:
        """Run `action` in one counted span: Redis's work and each part's CPU (less what a
        running part spends idle), per unit."""
        before = self.service.cpu_seconds()
        with self.counter.span() as work:
            action()
        after = self.service.cpu_seconds()
        spent = {
            part: after[part]
            - before.get(part, 0.0)
            - (0.0 if part in self._stopped else self.idle_cpu.get(part, 0.0) * work[0].seconds)
            for part in after
        }
        return Operation(name, work[0], spent, units)

    @contextmanager
    def worker_stopped(self) -> Iterator[None]:
        """The worker's processes are stopped (SIGSTOP) inside, and go on (SIGCONT) after."""
        pids = self.service.processes()["worker"]
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        self._stopped.add("worker")
        try:
            yield
        finally:
            self._stopped.discard("worker")
            for pid in pids:
                os.kill(pid, signal.SIGCONT)

    def wait_until(self, done: Callable[[], bool], what: str) -> None:
        """Poll `done` every 0.2 s; fail after `WAIT_TIMEOUT`."""
        deadline = time.monotonic() + WAIT_TIMEOUT
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} did not happen within {WAIT_TIMEOUT:.0f} s")
            time.sleep(0.2)

    def wait_idle(self) -> None:
        """Until the tenant has no job in flight and no webhook is due."""
        self.wait_until(
            lambda: (
                self.counter.ask("SCARD", keys.tenant_inflight("default")) == 0
                and self.counter.ask("ZCARD", keys.WEBHOOKS_DUE) == 0
            ),
            "every job ending",
        )

    def memory(self) -> int:
        """Redis's `used_memory` now (read between spans, not inside one)."""
        return int(self.counter.client.info("memory")["used_memory"])

    def first_expiry(self) -> float:
        """When (epoch seconds) the first job's retention ends; 0 when no job waits for it."""
        first = self.counter.ask("ZRANGE", keys.EXPIRY_ZSET, 0, 0, "WITHSCORES")
        return float(first[0][1]) if first else 0.0

    def stop(self) -> None:
        """Stop the service, then Redis."""
        self.http.close()
        self.service.stop()
        self.redis_server.stop()
