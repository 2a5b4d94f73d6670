"""Child processes that run in their own process group and are stopped politely, then by force."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from typing import IO


class ChildProcess:
    """One named child process in a new session, so signals reach it only when we send them."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        output: IO[bytes] | None = None,
        cwd: str | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env) if env is not None else None
        self.output = output
        self.cwd = cwd
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process; its output goes to `output`, or straight to our own stdout/stderr."""
        stderr = subprocess.STDOUT if self.output is not None else None
        self._proc = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=self.output,
            stderr=stderr,
            start_new_session=True,
        )

    @property
    def pid(self) -> int | None:
        """The process id, or None before `start()`."""
        return self._proc.pid if self._proc is not None else None

    def poll(self) -> int | None:
        """The exit code if the process has ended, else None (also None before `start()`)."""
        return self._proc.poll() if self._proc is not None else None

    def is_running(self) -> bool:
        """Whether the process was started and has not ended."""
        return self._proc is not None and self._proc.poll() is None

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM the process, SIGKILL its whole group after `timeout` s; the exit code.

        The group is swept with SIGKILL even after a clean exit, so helpers it forked (a Celery
        pool, a Redis rewrite child) never outlive it.
        """
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            _signal_pid(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(proc.pid, signal.SIGKILL)
        _signal_group(proc.pid, signal.SIGKILL)
        return proc.wait()


def _signal_pid(pid: int, signum: signal.Signals) -> None:
    """Send `signum` to one process, ignoring that it may have just ended."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    """Send `signum` to a process group, ignoring that it may be empty already."""
    # PermissionError: on macOS, killpg of a group whose members all exited can answer EPERM.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)
