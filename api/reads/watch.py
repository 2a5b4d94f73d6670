"""Long-polling: one Redis subscription per API process wakes every request waiting on a job.

A job's ending is published with its record and (up to 64 KB) its scored rows: a request
waiting on it answers from the message, without reading the job back. The answers to
synchronous protocol requests (`inferq.jobs.sync`) come on the same channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict, defaultdict

import orjson
import redis.asyncio as aioredis

from inferq.jobs.keys import DELETED, EVENTS_CHANNEL
from inferq.jobs.record import TERMINAL_STATUSES, JobRecord
from inferq.jobs.sync import ANSWERS
from inferq.redis_multiplex import MultiplexedRedis

log = logging.getLogger(__name__)
_ENDINGS = frozenset(status.value for status in TERMINAL_STATUSES)
_REMEMBERED_ENDINGS = 10_000
_REMEMBERED_BYTES = 16 * 1024 * 1024
#: How long a heard ending answers for its job (after that the job is read: it may be deleted).
_FRESH_SECONDS = 2.0


class JobWatcher:
    """Dispatches status changes published by the job store to waiting requests."""

    def __init__(self, client: aioredis.Redis, multiplexed: MultiplexedRedis | None = None) -> None:
        self.client = client
        self.multiplexed = multiplexed
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        # Jobs seen ending lately: when, and what was published (record and rows; b"" when
        # bare), so a request that registers just after its job ended (a one-row job can end
        # before its POST has returned) is woken at once and still answers without a read.
        self._ended: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._ended_bytes = 0
        # Jobs this process created lately, with their tenant (`created`).
        self._created: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._answers: dict[str, asyncio.Future[tuple[str, bytes]]] = {}
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

    def expect_answer(self, request_id: str) -> asyncio.Future[tuple[str, bytes]]:
        """A future set to the (status, payload) published for a sync request; call before
        the request is queued, and `forget_answer` when done waiting."""
        future: asyncio.Future[tuple[str, bytes]] = asyncio.get_running_loop().create_future()
        self._answers[request_id] = future
        return future

    def forget_answer(self, request_id: str) -> None:
        """Stop waiting for a sync request's answer (a late one is then ignored)."""
        self._answers.pop(request_id, None)

    def created(self, job_id: str, tenant: str) -> None:
        """Note a job this process has just stored for `tenant`."""
        self._created[job_id] = (time.monotonic(), tenant)
        while len(self._created) > _REMEMBERED_ENDINGS:
            self._created.popitem(last=False)

    def knows(self, job_id: str, tenant: str) -> bool:
        """Whether a wait on the job may begin without reading it: this process created it
        for `tenant`, or heard it end, within the last `_FRESH_SECONDS` and not deleted since
        (a heard ending's tenant is checked when it is read)."""
        now = time.monotonic()
        heard_at, published = self._ended.get(job_id, (0.0, b""))
        if published and now - heard_at <= _FRESH_SECONDS:
            return True
        created_at, owner = self._created.get(job_id, (0.0, ""))
        return owner == tenant and now - created_at <= _FRESH_SECONDS

    def forget(self, job_id: str) -> None:
        """Drop what is known of a deleted job and wake its waiters (they read it: 404)."""
        self._created.pop(job_id, None)
        self._ended_bytes -= len(self._ended.pop(job_id, (0.0, b""))[1])
        for event in self._waiters.get(job_id, ()):
            event.set()

    def ending(self, job_id: str) -> tuple[JobRecord, bytes | None] | None:
        """The ended record and scored rows (None: over 64 KB) of a job heard ending just now."""
        heard_at, published = self._ended.get(job_id, (0.0, b""))
        if not published or time.monotonic() - heard_at > _FRESH_SECONDS:
            return None  # a job deleted since must not be answered from here
        fields, has_result, result = published.partition(b"\n")
        record = JobRecord.from_flat(orjson.loads(fields))
        assert record is not None  # an ending is published with its hash
        return record, (result if has_result else None)

    async def _listen(self) -> None:
        while True:
            try:
                if self.multiplexed is not None:
                    await self.multiplexed.listen(EVENTS_CHANNEL, self._dispatch)
                else:
                    await self._listen_with_redis_py()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis went away: waiters fall back to re-reading
                log.warning("job watcher lost Redis (%s); reconnecting", exc)
                await asyncio.sleep(1.0)

    async def _listen_with_redis_py(self) -> None:
        """For a Redis URL that `MultiplexedRedis` does not speak (TLS)."""
        async with self.client.pubsub() as pubsub:
            await pubsub.subscribe(EVENTS_CHANNEL)
            async for message in pubsub.listen():
                if message["type"] == "message":
                    self._dispatch(message["data"])

    def _dispatch(self, data: bytes) -> None:
        head, _, published = data.partition(b"\n")
        job_id, _, status = head.decode().partition(" ")
        if status in ANSWERS:
            future = self._answers.pop(job_id, None)
            if future is not None and not future.done():
                future.set_result((status, published))
            return
        if status == DELETED:
            self.forget(job_id)
            return
        if status not in _ENDINGS:
            return  # a waiter only cares about the end
        self._ended_bytes += len(published) - len(self._ended.pop(job_id, (0.0, b""))[1])
        self._ended[job_id] = (time.monotonic(), published)
        while len(self._ended) > _REMEMBERED_ENDINGS or self._ended_bytes > _REMEMBERED_BYTES:
            self._ended_bytes -= len(self._ended.popitem(last=False)[1][1])
        for event in self._waiters.get(job_id, ()):
            event.set()
