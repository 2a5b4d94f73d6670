"""inferq spread over hosts on one machine: each part on a network namespace of its own.

| host | runs |
| --- | --- |
| redis1 | the Redis primary, a Sentinel |
| redis2 | a replica of redis1, a Sentinel |
| s3 | moto's S3 server (the storage), a Sentinel |
| api | uvicorn with the API |
| worker1, worker2 | a Celery worker each |

The machine's own address on the bridge (`Network.gateway`) runs the webhook receiver, and the
test talks to the API, Redis and S3 at their hosts' addresses; nothing listens on 127.0.0.1.
Workers and the API reach Redis at redis1 directly unless `sentinel=True`.
"""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import redis
import s3fs

from inferq.children import ChildProcess
from inferq.redis_ha import MASTER_NAME, start_primary, start_replica, start_sentinel
from inferq.redis_server import RedisServer
from tests.netns import Host, Network
from tests.s3_server import CREDENTIALS, s3_server
from tests.stack import Stack
from tests.webhook_receiver import Receiver

ROLES = ("redis1", "redis2", "s3", "api", "worker1", "worker2")
WORKER_HOSTS = ("worker1", "worker2")
REDIS_HOSTS = ("redis1", "redis2")
SENTINEL_HOSTS = ("redis1", "redis2", "s3")
REDIS_PORT, SENTINEL_PORT, S3_PORT, API_PORT, RECEIVER_PORT = 6379, 26379, 5000, 8000, 9000
BUCKET = "inferq-hosts"

SHORT_TIMEOUTS = {
    "redis_min_replicas": "1",
    "lease_seconds": "2",
    "sweep_seconds": "0.5",
    "visibility_timeout": "4",
    "max_attempts": "10",
    "intake_lease_seconds": "2",
    "redis_socket_timeout": "2",
    "file_chunk_bytes": "16384",
}
"""Settings for chaos runs: a lost worker, host or upload is noticed within seconds, and a job
is acknowledged once the replica holds it."""


class HostStack(Stack):
    """One inferq whose Redis, Sentinels, storage, API and workers run on hosts of `network`."""

    def __init__(self, base: Path, network: Network, sentinel: bool = False, **settings: str):
        super().__init__(base, **settings)
        self.network = network
        self.hosts: dict[str, Host] = {role: network.add_host(role) for role in ROLES}
        self.sentinel = sentinel
        self.servers: dict[str, RedisServer] = {}
        """Redis servers and Sentinels by name (`redis1`, `sentinel-s3`, ...)."""
        self.receiver = Receiver(RECEIVER_PORT, self._log("receiver.log"), host=network.gateway)
        self.s3_env: dict[str, str] = {}
        self._exits = ExitStack()
        self._started: dict[str, int] = {}

    # -- configuration ------------------------------------------------------------------------

    @property
    def redis_url(self) -> str:
        """redis1 itself, or the Sentinels' URL when the stack follows the primary."""
        if self.sentinel:
            return self.sentinel_url
        return f"redis://{self.hosts['redis1'].address}:{REDIS_PORT}/0"

    @property
    def sentinel_url(self) -> str:
        """`redis+sentinel://` URL of the three Sentinels (issue 20's form)."""
        where = ",".join(f"{self.hosts[r].address}:{SENTINEL_PORT}" for r in SENTINEL_HOSTS)
        return f"redis+sentinel://{where}/{MASTER_NAME}/0"

    @property
    def env(self) -> dict[str, str]:
        """The stack's environment plus S3 storage and webhooks to the bridge's subnet."""
        env = super().env
        env.update(self.s3_env)
        env.setdefault("INFERQ_STORAGE_URL", f"s3://{BUCKET}/inferq")
        env["INFERQ_WEBHOOK_ALLOWED_HOSTS"] = str(self.network.subnet)
        return env

    def redis(self) -> redis.Redis:
        """A client of the current primary (found through the Sentinels with `sentinel=True`)."""
        return redis.Redis(host=self.primary_address(), port=REDIS_PORT)

    def primary_address(self) -> str:
        """The address of the Redis primary, as the Sentinels name it once they run."""
        if "sentinel-s3" not in self.servers:
            return self.hosts["redis1"].address
        named = self._named_by("s3")  # the s3 host's Sentinel: no chaos run kills that host
        if named is None:
            raise redis.ConnectionError("the s3 host's Sentinel names no primary")
        return named

    # -- the hosts ----------------------------------------------------------------------------

    def start(self, workers: int = 1) -> HostStack:
        """Every part on its host: Redis and Sentinels, S3, demo models, the receiver, the API
        and a worker of `workers` processes on each worker host."""
        self.start_redis()
        self.start_s3()
        self.receiver.start()
        # Side by side: each mostly waits for its imports, and the start-up takes half as long.
        with ThreadPoolExecutor(4) as pool:
            started = [pool.submit(self.register_demo_models), pool.submit(self.start_api_host)]
            started += [pool.submit(self.start_worker_host, r, workers) for r in WORKER_HOSTS]
            for future in started:
                future.result()
        return self

    def start_redis(self) -> HostStack:
        """The primary on redis1, its replica on redis2, a Sentinel on each of SENTINEL_HOSTS
        (inferq.redis_ha's helpers, run through `ip netns exec`)."""
        primary = (self.hosts["redis1"].address, REDIS_PORT)
        self._run_redis("redis1", None)
        self._run_redis("redis2", primary)
        for role in SENTINEL_HOSTS:
            self._run_sentinel(role, primary)
        self.wait_until_sentinels_ready()
        return self

    def start_s3(self) -> None:
        """moto's S3 server on the s3 host, with the stack's bucket."""
        host = self.hosts["s3"]
        log = self.base / "moto.log"
        self.s3_env = self._exits.enter_context(s3_server(log, host.address, S3_PORT, host.on))
        self.s3().mkdir(BUCKET)

    def s3(self) -> s3fs.S3FileSystem:
        """A client of the stack's S3 server."""
        return s3fs.S3FileSystem(
            key=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            secret=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            endpoint_url=self.s3_env["AWS_ENDPOINT_URL_S3"],
            skip_instance_cache=True,
        )

    def register_demo_models(self) -> None:
        """Register the demo models from the API host, as `make run` does before it starts."""
        argv = self.hosts["api"].command([sys.executable, "-m", "models.startup"])
        with (self.base / "startup.log").open("ab") as log:
            subprocess.run(argv, env=self.env, stdout=log, stderr=subprocess.STDOUT, check=True)

    def start_api_host(self) -> str:
        """The API on the api host; its URL once it answers."""
        host = self.hosts["api"]
        return self.start_api(host=host.address, port=API_PORT, on=host.on)

    def start_worker_host(self, role: str, concurrency: int = 1) -> ChildProcess:
        """A worker on host `role`, named after it."""
        self._started[role] = number = self._started.get(role, -1) + 1
        name = f"{role}-{number}"
        return self.start_worker(concurrency, name=name, on=self.hosts[role].on)

    def kill_host(self, role: str) -> int:
        """SIGKILL every process on host `role`; the stack forgets its processes there. How many
        processes were killed."""
        killed = self.hosts[role].kill()
        for worker in [w for w in self.workers if w.name.startswith(f"{role}-")]:
            worker.stop()  # reaps it; the kill already ended it
            self.workers.remove(worker)
        if role == "api" and self.api is not None:
            self.api.stop()
            self.api = None
        return killed

    def stop(self) -> None:
        """Stop every process this stack started, by its PID (servers last)."""
        try:
            super().stop()
        finally:
            self.receiver.stop()
            for server in reversed(list(self.servers.values())):
                server.stop()
            self._exits.close()

    # -- Redis servers ------------------------------------------------------------------------

    def primary_role(self) -> str:
        """The host the Sentinels name as primary now."""
        address = self.primary_address()
        return next(role for role in REDIS_HOSTS if self.hosts[role].address == address)

    def kill_primary_host(self) -> tuple[str, float]:
        """SIGKILL every process on the primary's host (its Sentinel too); the host and the
        time.monotonic() of the kill."""
        role = self.primary_role()
        killed_at = time.monotonic()
        self.hosts[role].kill()
        for name in (role, f"sentinel-{role}"):
            self.servers.pop(name).stop()  # reaps them
        return role, killed_at

    def wait_for_new_primary(self, old: str, seconds: float = 60) -> str:
        """Block until every running Sentinel names a primary other than host `old`; its host."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            named = {self._named_by(role) for role in SENTINEL_HOSTS if self._sentinel_up(role)}
            if len(named) == 1 and None not in named and self.hosts[old].address not in named:
                return self.primary_role()
            time.sleep(0.05)
        raise TimeoutError(f"the Sentinels named no new primary in {seconds}s")

    def reboot_redis_host(self, role: str) -> None:
        """Start host `role`'s Redis again as a replica of the current primary, and its
        Sentinel, as a rebooted host rejoins."""
        primary = (self.primary_address(), REDIS_PORT)
        self._run_redis(role, primary)
        self._run_sentinel(role, primary)

    def _run_redis(self, role: str, primary: tuple[str, int] | None) -> None:
        host, folder = self.hosts[role], self.base / role
        where = {"host": host.address, "port": REDIS_PORT, "prefix": host.on}
        if primary is None:
            self.servers[role] = start_primary(folder, **where)  # type: ignore[arg-type]
        else:
            self.servers[role] = start_replica(folder, primary, **where)  # type: ignore[arg-type]

    def _run_sentinel(self, role: str, primary: tuple[str, int]) -> None:
        host = self.hosts[role]
        self.servers[f"sentinel-{role}"] = start_sentinel(
            self.base / f"sentinel-{role}",
            primary,
            host=host.address,
            port=SENTINEL_PORT,
            prefix=host.on,
        )

    def _sentinel_up(self, role: str) -> bool:
        return f"sentinel-{role}" in self.servers

    def _named_by(self, role: str) -> str | None:
        address = self.hosts[role].address
        sentinel = redis.Redis(address, SENTINEL_PORT, socket_timeout=1, decode_responses=True)
        try:
            with sentinel:
                named = sentinel.sentinel_get_master_addr_by_name(MASTER_NAME)
        except redis.RedisError:
            return None
        return str(named[0]) if named else None

    def wait_until_sentinels_ready(self, seconds: float = 30) -> None:
        """Block until every Sentinel sees a replica and the other Sentinels."""
        deadline = time.monotonic() + seconds
        while not all(self._sees_everyone(role) for role in SENTINEL_HOSTS):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the Sentinels did not find each other in {seconds}s")
            time.sleep(0.1)

    def _sees_everyone(self, role: str) -> bool:
        sentinel = redis.Redis(self.hosts[role].address, SENTINEL_PORT, socket_timeout=1)
        try:
            with sentinel:
                state: Any = sentinel.sentinel_master(MASTER_NAME)
        except redis.RedisError:
            return False
        others = len(SENTINEL_HOSTS) - 1
        return bool(state["num-slaves"] >= 1 and state["num-other-sentinels"] >= others)
