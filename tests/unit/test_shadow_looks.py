"""The shadow thread looks at its lane less often while it finds nothing there."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from inferq.config import Settings
from workers.shadows import IDLE_LOOK_SECONDS, LOOK_SECONDS, ShadowRunner


class Stop(threading.Event):
    """A stop event that records each wait instead of sleeping, and stops after `looks`."""

    def __init__(self, looks: int) -> None:
        super().__init__()
        self.looks = looks
        self.waits: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        if len(self.waits) >= self.looks:
            self.set()
        return self.is_set()


class Runner(ShadowRunner):
    """A shadow runner whose batches come as scripted: True when it took one."""

    def __init__(self, found: list[bool]) -> None:  # no worker context: no Redis
        self.ctx = SimpleNamespace(settings=Settings())  # type: ignore[assignment]
        self.found = iter(found)

    def run_once(self) -> bool:
        return next(self.found, False)


def test_waits_double_while_nothing_is_found_and_start_over_after_a_batch() -> None:
    stop = Stop(looks=8)
    runner = Runner([False] * 6 + [True] + [False] * 10)
    thread = threading.Thread(target=runner.run_forever, args=(stop,))  # its own niceness
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    first = [LOOK_SECONDS * 2**n for n in range(4)]  # 0.05, 0.1, 0.2, 0.4
    assert stop.waits == pytest.approx([*first, IDLE_LOOK_SECONDS, IDLE_LOOK_SECONDS, 0.05, 0.1])
