"""A worker's scoring thread keeps its process's share of OpenMP threads (issue 19)."""

from __future__ import annotations

import os
import threading

import pytest
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
from threadpoolctl import threadpool_limits

from tasks import threads


def _openmp_threads_in_a_new_thread(wrap: bool) -> int:
    found: list[int] = []

    def probe() -> None:
        found.append(_openmp_effective_n_threads())

    thread = threading.Thread(target=threads.limited(probe) if wrap else probe)
    thread.start()
    thread.join()
    return found[0]


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores to tell limits apart")
def test_a_scoring_thread_runs_with_the_processs_share_of_openmp_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The process's limit (set in its main thread) does not reach a plain new thread; a thread
    run through `limited` gets it."""
    monkeypatch.setitem(threads._processes, "count", os.cpu_count() or 1)
    assert threads.native_threads() == 1
    with threadpool_limits(threads.native_threads()):  # what worker_process_init does
        assert _openmp_effective_n_threads() == 1
        assert _openmp_threads_in_a_new_thread(wrap=False) == os.cpu_count()
        assert _openmp_threads_in_a_new_thread(wrap=True) == 1
