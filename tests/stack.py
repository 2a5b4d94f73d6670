"""Real inferq parts for tests: a Redis server, Celery worker processes and a uvicorn API."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx
import redis

from inferq.api_keys import new_key
from inferq.children import ChildProcess
from inferq.config import Settings
from inferq.jobs.keys import WORKERS_ZSET
from inferq.launcher import HTTP_PROTOCOL
from inferq.queue import QUEUES
from inferq.redis_server import RedisServer, free_port

ROOT = Path(__file__).resolve().parent.parent


class Stack:
    """One isolated inferq: its own Redis server, storage folder, workers and API."""

    def __init__(self, base: Path, **settings: str) -> None:
        self.base = base
        self.base.mkdir(parents=True, exist_ok=True)
        self.redis_server = RedisServer(base / "redis", appendonly=True)
        self.extra = settings
        self.admin_key = settings.get("admin_key") or new_key()
        self.workers: list[ChildProcess] = []
        self.api: ChildProcess | None = None
        self.api_url = ""
        self._logs: list[IO[bytes]] = []

    # -- configuration ------------------------------------------------------------------------

    @property
    def env(self) -> dict[str, str]:
        """The environment every part of this stack runs with."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("INFERQ_")}
        env.update(
            INFERQ_REDIS_URL=self.redis_url,
            INFERQ_VAR_DIR=str(self.base / "var"),
            INFERQ_WORKER_HEARTBEAT_SECONDS="0.5",
            # Webhook receivers in tests listen on 127.0.0.1; retries come fast.
            INFERQ_WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
            INFERQ_WEBHOOK_RETRY_DELAYS="0.2,0.4,0.8",
            INFERQ_WEBHOOK_TIMEOUT_SECONDS="2",
            INFERQ_WEBHOOK_POLL_SECONDS="0.1",
            INFERQ_WEBHOOK_LEASE_SECONDS="5",
            INFERQ_ADMIN_KEY=self.admin_key,
            PYTHONPATH=str(ROOT),
        )
        env.update({f"INFERQ_{k.upper()}": v for k, v in self.extra.items()})
        return env

    @property
    def redis_url(self) -> str:
        """The INFERQ_REDIS_URL of this stack's processes."""
        return self.redis_server.url

    @property
    def settings(self) -> Settings:
        """Settings as the stack's processes read them."""
        values = {
            k[len("INFERQ_") :].lower(): v for k, v in self.env.items() if k.startswith("INFERQ_")
        }
        return Settings(**values)

    @contextmanager
    def running(self, workers: int | None = 2) -> Iterator[Stack]:
        """Redis with the demo models, a worker of `workers` processes (None: no worker) and
        the API, all stopped when the block ends."""
        try:
            self.start_redis()
            self.register_demo_models()
            if workers:
                self.start_worker(concurrency=workers)
            self.start_api()
            yield self
        finally:
            self.stop()

    def api_client(self, timeout: float = 60) -> httpx.Client:
        """Start the API unless it runs, and return a client of it sending the admin key."""
        if self.api is None or not self.api.is_running():
            self.start_api()
        return self.client(timeout=timeout)

    def client(self, key: str | None = None, **kwargs: Any) -> httpx.Client:
        """An HTTP client of the API sending `key` (default: the stack's admin key)."""
        headers = {"Authorization": f"Bearer {key or self.admin_key}"}
        return httpx.Client(base_url=self.api_url, headers=headers, **kwargs)

    def redis(self) -> redis.Redis:
        """A client of the stack's Redis."""
        return redis.Redis.from_url(self.redis_url)

    # -- parts --------------------------------------------------------------------------------

    def start_redis(self) -> Stack:
        """Start the Redis server (append-only) and register the demo models in it."""
        self.redis_server.start()
        return self

    def register_demo_models(self) -> None:
        """Train and register the demo models the way `make run` does."""
        from models.startup import ensure_demo_models

        ensure_demo_models(self.settings)

    def start_worker(
        self,
        concurrency: int = 2,
        name: str | None = None,
        queues: Sequence[str] = QUEUES,
        on: Sequence[str] = (),
    ) -> ChildProcess:
        """Start a Celery worker process (prefork pool) and wait until it announces itself;
        `on` prefixes its command (`ip netns exec NS` runs it on another host)."""
        name = name or f"w{len(self.workers)}-{free_port()}"
        argv = [*on, sys.executable, "-m", "celery", "-A", "tasks.app:celery_app", "worker"]
        argv += ["--pool", "prefork", "--concurrency", str(concurrency), "-Q", ",".join(queues)]
        argv += ["-n", f"{name}@test", "--without-gossip", "--without-mingle", "--loglevel", "INFO"]
        worker = ChildProcess(name, argv, env=self.env, output=self._log(f"worker-{name}.log"))
        worker.start()
        self.workers.append(worker)
        self._wait(lambda: self.redis().zscore(WORKERS_ZSET, f"{name}@test") is not None, worker)
        return worker

    def stop_worker(self, worker: ChildProcess) -> None:
        """Stop one worker (warm shutdown) and forget it."""
        worker.stop(timeout=15)
        self.workers.remove(worker)

    def start_api(
        self, workers: int = 1, host: str = "127.0.0.1", port: int = 0, on: Sequence[str] = ()
    ) -> str:
        """Start uvicorn on `host` and `port` (0: a free one) and return its base URL once
        /healthz answers; `on` prefixes its command (`ip netns exec NS`)."""
        port = port or free_port()
        argv = [*on, sys.executable, "-m", "uvicorn", "api.main:app", "--http", HTTP_PROTOCOL]
        argv += ["--host", host]
        argv += ["--port", str(port), "--log-level", "warning", "--workers", str(workers)]
        self.api = ChildProcess("api", argv, env=self.env, output=self._log("api.log"))
        self.api.start()
        self.api_url = f"http://{host}:{port}"
        self._wait(self._api_answers, self.api)
        return self.api_url

    def stop(self) -> None:
        """Stop every part this stack started."""
        if self.api is not None:
            self.api.stop()
        for worker in list(self.workers):
            self.stop_worker(worker)
        self.redis_server.stop()
        for log in self._logs:
            log.close()

    # -- helpers ------------------------------------------------------------------------------

    def _api_answers(self) -> bool:
        try:
            return httpx.get(f"{self.api_url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def _log(self, name: str) -> IO[bytes]:
        handle = open(self.base / name, "ab")  # noqa: SIM115 - closed in stop()
        self._logs.append(handle)
        return handle

    def _wait(self, ready: object, child: ChildProcess, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if child.poll() is not None:
                raise RuntimeError(f"{child.name} exited with {child.poll()}; see {self.base}")
            if ready():  # type: ignore[operator]
                return
            time.sleep(0.1)
        raise TimeoutError(f"{child.name} did not become ready in {timeout}s; see {self.base}")
