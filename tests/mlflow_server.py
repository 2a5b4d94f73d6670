"""A real `mlflow server` (sqlite backend, local artifact folder) on 127.0.0.1 for import tests.

MLflow's server pins an older pyarrow than inferq, so it lives in a virtualenv of its own
(`make mlflow-venv`, `.venv-mlflow`, or INFERQ_TEST_MLFLOW_PYTHON). Models are logged to it by
`tests/mlflow_log.py`, run with that virtualenv's Python and the mlflow client.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx
import orjson

from inferq.children import ChildProcess
from inferq.redis_server import free_port

ROOT = Path(__file__).resolve().parent.parent


def mlflow_python() -> Path:
    """The Python of the virtualenv that has MLflow's server."""
    configured = os.environ.get("INFERQ_TEST_MLFLOW_PYTHON")
    return Path(configured) if configured else ROOT / ".venv-mlflow" / "bin" / "python"


class MlflowServer:
    """One `mlflow server` child process and the URL it answers on."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.url = ""
        self.process: ChildProcess | None = None
        self._log: IO[bytes] | None = None

    def start(self, timeout: float = 180.0) -> MlflowServer:
        """Start the server on a free port; return once /health answers."""
        port = free_port()
        self.base.mkdir(parents=True, exist_ok=True)
        argv = [str(mlflow_python()), "-m", "mlflow", "server", "--host", "127.0.0.1"]
        argv += ["--port", str(port), "--workers", "1"]
        argv += ["--backend-store-uri", f"sqlite:///{self.base / 'mlflow.db'}"]
        argv += ["--artifacts-destination", str(self.base / "artifacts")]
        self._log = open(self.base / "mlflow-server.log", "ab")  # noqa: SIM115 - closed in stop()
        self.process = ChildProcess("mlflow", argv, env=_env(), output=self._log)
        self.process.start()
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mlflow server exited; see {self.base / 'mlflow-server.log'}")
            if _answers(self.url):
                return self
            time.sleep(0.2)
        raise TimeoutError(f"mlflow server did not answer in {timeout}s")

    def stop(self) -> None:
        """Stop the server process this object started."""
        if self.process is not None:
            self.process.stop(timeout=15)
        if self._log is not None:
            self._log.close()

    def log_model(self, kind: str, name: str, alias: str = "") -> dict[str, str]:
        """Log and register a model of `kind` with the mlflow client; its run id and version."""
        argv = [str(mlflow_python()), str(ROOT / "tests" / "mlflow_log.py"), "log", self.url]
        argv += [kind, name, alias]
        done = subprocess.run(  # noqa: S603 - our own script
            argv, capture_output=True, env=_env(), check=False, timeout=300
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr.decode(errors="replace")[-3000:])
        return orjson.loads(done.stdout.splitlines()[-1])


def save_model(kind: str, folder: Path) -> Path:
    """An MLflow model directory of `kind` saved with the mlflow client into `folder`."""
    argv = [str(mlflow_python()), str(ROOT / "tests" / "mlflow_log.py"), "save", str(folder), kind]
    done = subprocess.run(  # noqa: S603 - our own script
        argv, capture_output=True, env=_env(), check=False, timeout=300
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.decode(errors="replace")[-3000:])
    return folder


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INFERQ_", "MLFLOW_"))}
    env["PYTHONPATH"] = str(ROOT)
    env["MLFLOW_ENABLE_ASYNC_LOGGING"] = "false"
    return env


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def available() -> bool:
    """Whether the MLflow virtualenv is installed."""
    return mlflow_python().exists() and sys.platform != "win32"
