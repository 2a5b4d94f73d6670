"""`make run` and `inferq up`: Redis (unless one is configured), the demo models, a worker, the API.

Every child runs in its own process group, so Ctrl-C reaches only the launcher, which then stops
the API first (no new jobs), the worker second (it finishes or requeues its tasks) and Redis last.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from inferq.admin_key import ensure_admin_key
from inferq.children import ChildProcess
from inferq.config import Settings, get_settings
from inferq.queue import QUEUES
from inferq.redis_server import RedisServer, RedisServerError

API_START_TIMEOUT = 90.0
"""Seconds the API may take to answer /healthz (imports scikit-learn and pandas on a cold disk)."""

READY_TIMEOUT = 30.0
"""Seconds to wait for /readyz (a worker's first heartbeat) before printing the banner anyway."""

STOP_TIMEOUT = 10.0
"""Seconds a child may take to stop after SIGTERM before its process group is killed."""


SHUTDOWN_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

REFUSED_EXIT = 3
"""`python -m models.startup`'s exit status (its `REFUSED_EXIT`) when it registered what it could
but refused some versions, which it names; the launcher goes on."""


class LaunchError(RuntimeError):
    """A part of the service did not start, or ended on its own."""


class ShutdownRequested(BaseException):
    """Raised by the signal handler; a BaseException so no `except Exception` swallows it."""


@dataclass
class Running:
    """What the launcher started, stopped in reverse order of importance to clients."""

    redis: RedisServer | None = None
    children: list[ChildProcess] = field(default_factory=list)

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> ChildProcess:
        """Start a child whose output goes straight to our terminal, and track it."""
        child = ChildProcess(name, argv, env=env)
        self.children.append(child)
        child.start()
        return child

    def check(self) -> None:
        """Raise LaunchError if any child or the Redis server has ended."""
        for child in self.children:
            code = child.poll()
            if code is not None:
                raise LaunchError(f"the {child.name} exited unexpectedly with code {code}")
        if self.redis is not None and self.redis.pid is None:
            raise LaunchError(f"redis exited unexpectedly; see {self.redis.log_path}")

    def stop(self) -> None:
        """Stop the API, then the worker, then Redis; each is killed if it lingers."""
        for child in reversed(self.children):
            if child.is_running():
                _say(f"stopping the {child.name} (pid {child.pid})")
            child.stop(STOP_TIMEOUT)
        if self.redis is not None:
            _say(f"stopping redis (pid {self.redis.pid})")
            self.redis.stop()


def up(settings: Settings) -> int:
    """Run the whole service in the foreground until Ctrl-C or SIGTERM; the exit code."""
    if not port_is_free(settings.host, settings.port):
        _say(
            f"port {settings.port} on {settings.host} is already in use (another inferq?); "
            "stop whatever holds it or choose another with INFERQ_PORT"
        )
        return 2
    running = Running()
    previous = {sig: signal.signal(sig, _request_shutdown) for sig in SHUTDOWN_SIGNALS}
    try:
        _start_all(settings, running)
        while True:
            running.check()
            time.sleep(0.5)
    except ShutdownRequested as exc:
        _say(f"{exc}: shutting down")
        return 0
    except (LaunchError, RedisServerError) as exc:
        _say(f"{exc}; stopping everything")
        return 1
    finally:
        for sig in SHUTDOWN_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)  # let the shutdown finish; it is bounded
        running.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _start_all(settings: Settings, running: Running) -> None:
    """Start Redis if needed, make the demo models, start the worker and the API, print how-to."""
    var_dir = settings.var_dir.resolve()
    var_dir.mkdir(parents=True, exist_ok=True)
    settings = settings.model_copy(update={"var_dir": var_dir})
    key_file = None
    if settings.auth_enabled:
        key, key_file = ensure_admin_key(var_dir)
        os.environ["INFERQ_ADMIN_KEY"] = key  # the API child inherits it through child_env
        settings = settings.model_copy(update={"admin_key": key})
    if settings.redis_url is None:
        settings = _start_redis(settings, running)
    env = child_env(settings)
    _register_models(env)
    running.spawn("worker", worker_argv(settings), env)
    running.spawn("API", api_argv(settings), env)
    _wait_until_healthy(settings, running)
    print(banner(settings, key_file), flush=True)


def _register_models(env: dict[str, str]) -> None:
    """Register the demo models and the repository folder in a child (`python -m models.startup`,
    as the compose file's `demo-models` service does); refused versions are reported, not fatal."""
    done = subprocess.run((sys.executable, "-m", "models.startup"), env=env, check=False)
    if done.returncode not in (0, REFUSED_EXIT):
        raise SystemExit(f"registering the start-up models failed (exit {done.returncode})")


def _start_redis(settings: Settings, running: Running) -> Settings:
    """Start the local Redis under `<var_dir>/redis`; settings (and our env) now point at it."""
    running.redis = RedisServer(settings.var_dir / "redis", binary=settings.redis_server_bin)
    running.redis.start()
    _say(f"redis {running.redis.url} ({running.redis.binary}), data in {running.redis.data_dir}")
    os.environ["INFERQ_REDIS_URL"] = running.redis.url
    get_settings.cache_clear()  # code that calls get_settings() in this process sees it too
    return settings.model_copy(update={"redis_url": running.redis.url})


def child_env(settings: Settings) -> dict[str, str]:
    """Our environment plus the settings the children must agree with us on."""
    env = dict(os.environ)
    env["INFERQ_VAR_DIR"] = str(settings.var_dir)
    env["INFERQ_HOST"] = settings.host
    env["INFERQ_PORT"] = str(settings.port)
    env["PYTHONUNBUFFERED"] = "1"
    if settings.redis_url:
        env["INFERQ_REDIS_URL"] = settings.redis_url
    return env


def worker_queues() -> str:
    """The queues a worker consumes, comma-separated."""
    return ",".join(QUEUES)


def worker_argv(settings: Settings) -> list[str]:
    """The command line of one prefork Celery worker."""
    concurrency = settings.worker_concurrency or os.cpu_count() or 1
    return [
        *(sys.executable, "-m", "celery", "-A", "tasks.app:celery_app", "worker"),
        *("--pool", "prefork", "--concurrency", str(concurrency), "--loglevel", "INFO"),
        *("-Q", worker_queues()),
    ]


#: uvicorn's httptools protocol writing each response in one system call and handing the lanes'
#: requests straight to them (api/http_protocol.py, api/direct.py).
HTTP_PROTOCOL = "api.http_protocol:HttpProtocol"


def api_argv(settings: Settings) -> list[str]:
    """The command line of the API server."""
    return [
        *(sys.executable, "-m", "uvicorn", "api.main:app", "--http", HTTP_PROTOCOL),
        *("--host", settings.host, "--port", str(settings.port)),
        *("--workers", str(settings.api_workers)),
        *(() if settings.access_log else ("--no-access-log",)),
    ]


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on `host:port` now (with SO_REUSEADDR, as uvicorn does)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def base_url(settings: Settings) -> str:
    """The URL clients on this machine use; a wildcard bind is reached through loopback."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.port}"


def _wait_until_healthy(settings: Settings, running: Running) -> None:
    """Wait for /healthz, then give the worker a while to show up in /readyz."""
    url = base_url(settings)
    if not _wait_for_ok(f"{url}/healthz", running, API_START_TIMEOUT):
        raise LaunchError(f"the API did not answer {url}/healthz within {API_START_TIMEOUT:.0f}s")
    if not _wait_for_ok(f"{url}/readyz", running, READY_TIMEOUT):
        _say(f"{url}/readyz is not ready yet (no worker heartbeat); jobs wait in the queue")


def _wait_for_ok(url: str, running: Running, timeout: float) -> bool:
    """Poll `url` until it answers 200 (True) or `timeout` passes (False); fail if a child dies."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running.check()
        try:
            with opener.open(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass  # not listening yet, or an error status such as 503 while not ready
        time.sleep(0.25)
    return False


def banner(settings: Settings, key_file: Path | None = None) -> str:
    """Where the service is, which API key to use, and a copy-pasteable first job."""
    url = base_url(settings)
    auth = ' -H "Authorization: Bearer $INFERQ_API_KEY"' if settings.auth_enabled else ""
    row = '{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}'
    body = f'{{"model":"iris","dataframe_records":[{row}]}}'
    return "\n".join(
        [
            "",
            "inferq is up",
            f"  API      {url}",
            f"  Docs     {url}/docs",
            _dashboard_line(settings, key_file, url),
            f"  Ready    {url}/readyz",
            f"  Redis    {settings.redis_url}",
            f"  Storage  {settings.data_url}",
            *_key_lines(settings, key_file),
            "",
            "Try it:",
            f"  ID=$(curl -s -X POST {url}/v1/jobs{auth} -H 'Content-Type: application/json' \\",
            f"    -d '{body}' \\",
            "    | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"id\"])')",
            f'  curl -s{auth} "{url}/v1/jobs/$ID?wait=10"',
            f'  curl -s{auth} "{url}/v1/jobs/$ID/results"',
            "",
            "Press Ctrl-C to stop.",
            "",
        ]
    )


def _dashboard_line(settings: Settings, key_file: Path | None, url: str) -> str:
    """Where the dashboard is; a generated key rides in the link's #fragment, never sent."""
    if not settings.auth_enabled:
        return f"  UI       {url}/ui/"
    if key_file is None:
        return f"  UI       {url}/ui/  (paste $INFERQ_ADMIN_KEY into its API key field)"
    return f"  UI       {url}/ui/#key={settings.admin_key}  (stores the key in the browser)"


def _key_lines(settings: Settings, key_file: Path | None) -> list[str]:
    """How the banner tells which API key to use (a generated key is shown: it is local)."""
    if not settings.auth_enabled:
        return ["  Auth     off (INFERQ_AUTH_ENABLED=false): no API key needed"]
    if key_file is None:
        where, export = "INFERQ_ADMIN_KEY from the environment", "$INFERQ_ADMIN_KEY"
    else:
        where, export = f"kept in {key_file} (owner-only)", settings.admin_key or ""
    return [
        f"  API key  admin of tenant default, {where}",
        "",
        "Use it (the inferq command and curl below read INFERQ_API_KEY):",
        f"  export INFERQ_API_KEY={export}",
    ]


def _request_shutdown(signum: int, frame: FrameType | None) -> None:
    """Signal handler: unwind to `up()`, which stops everything in order."""
    raise ShutdownRequested(signal.Signals(signum).name)


def _say(message: str) -> None:
    """A launcher message on stderr, told apart from the children's output."""
    print(f"inferq: {message}", file=sys.stderr, flush=True)


def main() -> None:
    """`python -m inferq.launcher`."""
    sys.exit(up(get_settings()))


if __name__ == "__main__":
    main()
