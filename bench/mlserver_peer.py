"""MLServer serving the benchmark's model: its own venv, its settings, started and stopped by PID.

MLServer and mlserver-sklearn go into a separate venv (cached under `var/bench/` by default, never
committed), with scikit-learn, NumPy and joblib pinned to the versions inferq runs, so the joblib
file of the fitted model loads there as the same model. Access logs are off (`debug: false`), as
they are in inferq's default configuration; adaptive batching is on.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import IO

import httpx
import joblib

from inferq.children import ChildProcess
from inferq.redis_server import free_port

MLSERVER_VERSION = "1.7.1"
START_TIMEOUT = 180.0
"""Seconds MLServer may take to load the model (in its worker processes) and answer ready."""


@dataclass(frozen=True)
class Batching:
    """MLServer's adaptive batching: a batch is cut at `max_batch_size` or `max_batch_time`."""

    max_batch_size: int = 64
    max_batch_time: float = 0.005
    """Seconds a batch waits for more requests; also a floor under MLServer's light-load latency."""


def requirements() -> list[str]:
    """What the peer's venv holds: MLServer, its sklearn runtime, our scikit-learn stack."""
    pinned = [f"{name}=={version(name)}" for name in ("scikit-learn", "numpy", "joblib")]
    return [
        f"mlserver=={MLSERVER_VERSION}",
        f"mlserver-sklearn=={MLSERVER_VERSION}",
        # uvloop 0.22 raises in get_event_loop() without a running loop, which MLServer
        # 1.7.1's inference workers call: with it every parallel_workers >= 1 server dies.
        "uvloop==0.21.0",
        *pinned,
    ]


def ensure_venv(venv: Path) -> Path:
    """The `mlserver` command of a venv holding `requirements()`; installs it when they differ."""
    if sys.version_info >= (3, 13):
        raise RuntimeError(f"MLServer {MLSERVER_VERSION} needs Python < 3.13")
    wanted = "\n".join(requirements())
    stamp = venv / ".inferq-bench-requirements"
    command = venv / "bin" / "mlserver"
    if stamp.exists() and stamp.read_text() == wanted and command.exists():
        return command
    print(f"installing {', '.join(requirements())} into {venv} (once; takes a minute or two)")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", *requirements()]
    log_path = venv / "pip-install.log"
    with open(log_path, "wb") as log:
        installed = subprocess.run(pip, stdout=log, stderr=subprocess.STDOUT)
    if installed.returncode != 0:
        raise RuntimeError(f"installing MLServer failed; see {log_path}")
    stamp.write_text(wanted)
    return command


def write_repository(folder: Path, name: str, model: object, batching: Batching) -> None:
    """A one-model MLServer repository: the joblib file and its model-settings.json."""
    model_dir = folder / name
    model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(without_feature_names(model), model_dir / "model.joblib")
    settings = {
        "name": name,
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib"},
        "max_batch_size": batching.max_batch_size,
        "max_batch_time": batching.max_batch_time,
    }
    (model_dir / "model-settings.json").write_text(json.dumps(settings, indent=2))


def without_feature_names(model: object) -> object:
    """A copy of the fitted model that takes plain arrays without a warning per call.

    v2 infer sends one FP64 tensor, which the sklearn runtime hands over as a NumPy array; a
    model fitted on a DataFrame then warns "X does not have valid feature names" on every call,
    and MLServer's workers print each one. The trees and their predictions are the same.
    """
    plain = copy.deepcopy(model)
    if hasattr(plain, "feature_names_in_"):
        del plain.feature_names_in_
    return plain


class MLServerPeer:
    """One MLServer process (and the inference workers it forks) on free loopback ports."""

    def __init__(
        self, command: Path, repository: Path, name: str, parallel_workers: int, threads: int = 1
    ) -> None:
        self.command = command
        self.repository = repository
        self.name = name
        self.parallel_workers = parallel_workers
        self.threads = threads
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._child: ChildProcess | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> str:
        """Write the server settings, start `mlserver start`, and wait until the model is ready."""
        settings = {
            "host": "127.0.0.1",
            "http_port": self.port,
            "grpc_port": free_port(),
            "metrics_port": free_port(),
            "parallel_workers": self.parallel_workers,
            "metrics_dir": str(self.repository / "metrics"),  # not `.metrics` in our cwd
            "debug": False,
        }
        (self.repository / "settings.json").write_text(json.dumps(settings, indent=2))
        log_path = self.repository / f"mlserver-pw{self.parallel_workers}.log"
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        argv = [str(self.command), "start", str(self.repository)]
        # Our PYTHONPATH (the repo) must not shadow what the peer's venv imports.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        if self.threads:
            # One-row predicts of a HistGradientBoosting model meet their OpenMP threads once per
            # tree: on a busy machine a 2-thread predict took ~100x longer (p50 129 ms). inferq's
            # workers default to the cores shared among their processes (1 each on 2 cores).
            env["OMP_NUM_THREADS"] = str(self.threads)
        self._child = ChildProcess("mlserver", argv, env=env, output=self._log)
        self._child.start()
        self._wait_ready(log_path)
        return self.url

    def stop(self) -> None:
        """SIGTERM MLServer; its whole process group (the inference workers) is swept after."""
        if self._child is not None:
            self._child.stop(timeout=20)
        if self._log is not None:
            self._log.close()

    def _wait_ready(self, log_path: Path) -> None:
        assert self._child is not None
        ready = f"{self.url}/v2/models/{self.name}/ready"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._child.poll() is not None:
                raise RuntimeError(f"MLServer exited; see {log_path}")
            try:
                if httpx.get(ready, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass  # not listening yet
            time.sleep(0.5)
        raise TimeoutError(f"MLServer was not ready in {START_TIMEOUT:.0f}s; see {log_path}")
