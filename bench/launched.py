"""inferq as `make run` starts it, for benchmarks: `python -m inferq.launcher` with its defaults.

Only what must differ on a shared machine is set: the port (a free one, not 8000) and the var
folder (a temporary one, so a developer's `var/` is never touched). Every other `INFERQ_*`
variable of the caller is dropped, so the run measures the defaults a newcomer gets. The model
under test is uploaded over HTTP, as a user would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path
from typing import IO

import httpx

from inferq.children import ChildProcess
from inferq.redis_server import free_port
from models.artifacts import dump_skops, untrusted_types
from models.registry import DEFAULT_ALIAS

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 240.0
"""Seconds the launcher may take to train the demo models, start Redis, a worker and the API."""
STOP_TIMEOUT = 60.0
"""Seconds the launcher may take to stop its API, worker and Redis after SIGTERM."""


class LaunchedService:
    """One `make run` inferq in its own temporary var folder; started and stopped by PID."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.base.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.key = ""
        self._log: IO[bytes] | None = None
        self._launcher: ChildProcess | None = None

    def env(self) -> dict[str, str]:
        """Our environment without INFERQ_* settings, plus the port, var folder and import path."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("INFERQ_")}
        env.update(INFERQ_PORT=str(self.port), INFERQ_VAR_DIR=str(self.base / "var"))
        env["PYTHONPATH"] = str(ROOT)  # the children import `api.main` and `tasks.app`
        return env

    def start(self) -> str:
        """Start the launcher, wait until /readyz answers, and read the admin key it made."""
        self._log = open(self.base / "launcher.log", "ab")  # noqa: SIM115 - closed in stop()
        argv = [sys.executable, "-m", "inferq.launcher"]
        self._launcher = ChildProcess("launcher", argv, env=self.env(), output=self._log)
        self._launcher.start()
        self._wait_ready()
        self.key = (self.base / "var" / "admin.key").read_text().strip()
        return self.url

    def upload_model(self, name: str, model: object) -> None:
        """Upload `model` (skops) as the next version of `name` and point the default alias."""
        artifact = dump_skops(model)
        files = {"file": ("model.skops", artifact, "application/octet-stream")}
        form = {"alias": DEFAULT_ALIAS, "trusted_types": untrusted_types(artifact)}
        headers = {"Authorization": f"Bearer {self.key}"}
        answer = httpx.post(
            f"{self.url}/v1/models/{name}/versions",
            files=files,
            data=form,
            headers=headers,
            timeout=180,
        )
        if answer.status_code != 201:
            raise RuntimeError(f"model upload failed: {answer.status_code} {answer.text[:300]}")

    def stop(self) -> None:
        """SIGTERM the launcher: it stops the API, the worker and Redis in order.

        Its children run in process groups of their own; when the launcher did not end cleanly
        (it lingered and was killed), their groups are killed too, so no server outlives the run.
        """
        if self._launcher is not None:
            children = _children(self._launcher.pid)
            if self._launcher.stop(STOP_TIMEOUT) == 0:
                children = []  # it stopped them itself
            for pid in children:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds (user + system) used so far by the launcher's process tree, by role:
        `api`, `worker`, `redis` (each child of the launcher named by its command line, with
        its own children), `other`."""
        used: dict[str, float] = {"api": 0.0, "worker": 0.0, "redis": 0.0, "other": 0.0}
        if self._launcher is None:
            return used
        for child in _children(self._launcher.pid):
            role = _role(_command(child))
            used[role] += sum(_cpu(pid) for pid in [child, *_descendants(child)])
        return used

    def _wait_ready(self) -> None:
        assert self._launcher is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._launcher.poll() is not None:
                raise RuntimeError(f"the launcher exited; see {self.base / 'launcher.log'}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass  # not listening yet
            time.sleep(0.5)
        raise TimeoutError(f"inferq was not ready in {START_TIMEOUT:.0f}s; see {self.base}")


def _descendants(pid: int | None) -> list[int]:
    """Every process under `pid`, children first."""
    found, todo = [], _children(pid)
    while todo:
        child = todo.pop()
        found.append(child)
        todo += _children(child)
    return found


def _role(command: str) -> str:
    if "redis-server" in command or "valkey" in command:
        return "redis"
    if "celery" in command:
        return "worker"
    if "uvicorn" in command:
        return "api"
    return "other"


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _cpu(pid: int) -> float:
    """A running process's CPU seconds (0 once it has ended)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int | None) -> list[int]:
    """The direct children of a running process (Linux /proc; empty elsewhere)."""
    try:
        return [
            int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        ]
    except (OSError, ValueError):
        return []
