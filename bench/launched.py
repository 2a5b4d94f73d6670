"""inferq as `make run` starts it, for benchmarks: `python -m inferq.launcher` with its defaults.

Only what must differ on a shared machine is set: the port (a free one, not 8000) and the var
folder (a temporary one, so a developer's `var/` is never touched), plus what a bench names
(`settings`). Every other `INFERQ_*` variable of the caller is dropped, so the run measures the
defaults a newcomer gets. The model
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

from bench.redis_counts import process_cpu_seconds
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

    def __init__(
        self, base: Path, settings: dict[str, str] | None = None, root: Path = ROOT
    ) -> None:
        self.base = base
        # The checkout whose code runs (another commit's, to compare two: bench/commits_ab.py).
        self.root = root
        # What a bench must change: {"api_workers": "3"} is INFERQ_API_WORKERS=3.
        self.settings = settings or {}
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
        env.update({f"INFERQ_{name.upper()}": value for name, value in self.settings.items()})
        env["PYTHONPATH"] = str(self.root)  # the children import `api.main` and `tasks.app`
        return env

    def start(self) -> str:
        """Start the launcher, wait until /readyz answers, and read the admin key it made."""
        self._log = open(self.base / "launcher.log", "ab")  # noqa: SIM115 - closed in stop()
        argv = [sys.executable, "-m", "inferq.launcher"]
        # Started in `root`: `python -m` puts the working folder first on the import path.
        self._launcher = ChildProcess(
            "launcher", argv, env=self.env(), output=self._log, cwd=str(self.root)
        )
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

    def processes(self) -> dict[str, list[int]]:
        """The launcher's live descendants by part: `api`, `worker`, `redis` (each with its own
        children: uvicorn's and Celery's pool processes)."""
        parts: dict[str, list[int]] = {}
        pid = self._launcher.pid if self._launcher is not None else None
        for child in _children(pid):
            part = _part(child)
            if part is not None:
                parts.setdefault(part, []).extend(_descendants(child))
        return parts

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds used so far by each part (`api`, `worker`: every process under it)."""
        return {
            part: sum(_cpu_seconds(pid) for pid in pids) for part, pids in self.processes().items()
        }

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


def _children(pid: int | None) -> list[int]:
    """The direct children of a running process, started by any of its threads (Linux /proc;
    empty elsewhere)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return found


def _cpu_seconds(pid: int) -> float:
    try:
        return process_cpu_seconds(pid)
    except OSError:
        return 0.0  # the process ended between listing and reading


def _descendants(pid: int) -> list[int]:
    """A process and all processes under it."""
    found = [pid]
    for child in _children(pid):
        found += _descendants(child)
    return found


_PARTS = {"uvicorn": "api", "celery": "worker", "redis-server": "redis", "valkey-server": "redis"}


def _part(pid: int) -> str | None:
    """Which part of the service a child of the launcher is, from its command line."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    # Redis rewrites its title: one argv word "/usr/bin/redis-server 127.0.0.1:PORT".
    words = {Path(word).name for arg in argv for word in arg.decode(errors="replace").split()}
    return next((part for word, part in _PARTS.items() if word in words), None)
