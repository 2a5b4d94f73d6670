"""The shadow thread looks at its lane less often while it finds nothing there."""

from __future__ import annotations

import pytest

from workers.shadows import IDLE_LOOK_SECONDS, LOOK_SECONDS, Looks


def test_waits_double_while_nothing_is_found_and_start_over_after_a_batch() -> None:
    """0.05 s, then twice as long per empty look up to 0.5 s; a batch taken means look again
    at once, and the next empty look waits 0.05 s again."""
    looks = Looks()
    empty = [looks.after(found=False) for _ in range(6)]
    assert empty == pytest.approx([0.05, 0.1, 0.2, 0.4, 0.5, 0.5])
    assert (empty[0], empty[-1]) == (LOOK_SECONDS, IDLE_LOOK_SECONDS)
    assert looks.after(found=True) == 0
    assert looks.after(found=False) == pytest.approx(LOOK_SECONDS)
