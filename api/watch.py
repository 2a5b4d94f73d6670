"""Long-polling: one Redis subscription per API process wakes every request waiting on a job.

A job's ending is published with its record and (up to 64 KB) its scored rows: a request
waiting on it answers from the message, without reading the job back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict, defaultdict

import orjson
import redis.asyncio as aioredis

from inferq.jobs.keys import EVENTS_CHANNEL
from inferq.jobs.record import TERMINAL_STATUSES, JobRecord

log = logging.getLogger(__name__)
_ENDINGS = frozenset(status.value for status in TERMINAL_STATUSES)
_REMEMBERED_ENDINGS = 10_000


class JobWatcher:
    """Dispatches status changes published by the job store to waiting requests."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        # How jobs being waited on ended: record and scored rows as published (None: too big).
        self._endings: dict[str, tuple[JobRecord, bytes | None]] = {}
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
                self._endings.pop(job_id, None)

    def ending(self, job_id: str) -> tuple[JobRecord, bytes | None] | None:
        """The ended record and scored rows of a job waited on, when its ending was heard."""
        return self._endings.get(job_id)

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
        head, _, published = data.partition(b"\n")
        job_id, _, status = head.decode().partition(" ")
        if status not in _ENDINGS:
            return  # a waiter only cares about the end
        self._ended[job_id] = None
        if len(self._ended) > _REMEMBERED_ENDINGS:
            self._ended.popitem(last=False)
        waiters = self._waiters.get(job_id)
        if not waiters:
            return
        if published:
            fields, has_result, result = published.partition(b"\n")
            flat = orjson.loads(fields)
            record = JobRecord.from_hash(dict(zip(flat[::2], flat[1::2], strict=True)))
            self._endings[job_id] = (record, result if has_result else None)
        for event in waiters:
            event.set()
