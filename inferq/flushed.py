"""Tallies kept in memory and added to Redis once a second by a background task."""

from __future__ import annotations

import asyncio
import contextlib

FLUSH_SECONDS = 1.0


class Flushed:
    """An in-memory tally whose `flush` runs every `FLUSH_SECONDS` between `start` and `stop`
    (both called from the app's lifespan), and once more at `stop`."""

    task_name = "inferq-tally"
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Flush in the background."""
        self._task = asyncio.create_task(self._run(), name=self.task_name)

    async def stop(self) -> None:
        """Stop, flushing what is left."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()

    async def flush(self) -> None:
        """Add what was tallied to Redis (kept for the next flush if Redis is away)."""
        raise NotImplementedError

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            await self.flush()
