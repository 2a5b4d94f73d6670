"""Long-polling: one Redis subscription per API process wakes every request waiting on a job."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict, defaultdict

import redis.asyncio as aioredis

from inferq.jobs.keys import EVENTS_CHANNEL
from inferq.jobs.record import TERMINAL_STATUSES

log = logging.getLogger(__name__)
_ENDINGS = frozenset(status.value for status in TERMINAL_STATUSES)
_REMEMBERED_ENDINGS = 10_000


class JobWatcher:
    """Dispatches status changes published by the job store to waiting requests."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        # Jobs seen ending lately, so a request that registers just after its job ended (a
        # one-row job can end before its POST has returned) is woken at once.
        self._ended: OrderedDict[str, None] = OrderedDict()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin listening in the background (call from the app's lifespan)."""
        self._task = asyncio.create_task(self._listen(), name="inferq-job-watcher")

    async def stop(self) -> None:
        """Stop listening."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def register(self, job_id: str) -> asyncio.Event:
        """An event set when the job ends (already set if it ended lately)."""
        event = asyncio.Event()
        if job_id in self._ended:
            event.set()
        self._waiters[job_id].add(event)
        return event

    def unregister(self, job_id: str, event: asyncio.Event) -> None:
        """Stop waiting on a job."""
        waiters = self._waiters.get(job_id)
        if waiters is not None:
            waiters.discard(event)
            if not waiters:
                del self._waiters[job_id]

    async def _listen(self) -> None:
        while True:
            try:
                async with self.client.pubsub() as pubsub:
                    await pubsub.subscribe(EVENTS_CHANNEL)
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            self._dispatch(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis went away: waiters fall back to re-reading
                log.warning("job watcher lost Redis (%s); reconnecting", exc)
                await asyncio.sleep(1.0)

    def _dispatch(self, data: bytes) -> None:
        job_id, _, status = data.decode().partition(" ")
        if status not in _ENDINGS:
            return  # a waiter only cares about the end; `running` would only make it re-read
        self._ended[job_id] = None
        if len(self._ended) > _REMEMBERED_ENDINGS:
            self._ended.popitem(last=False)
        for event in self._waiters.get(job_id, ()):
            event.set()
