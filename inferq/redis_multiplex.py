"""One Redis connection that all coroutines of a process share, commands sent back to back;
and a plain subscription to one channel.

Redis answers a connection's commands in order, so the replies are handed to the waiting
callers first in, first out, and the commands issued in one turn of the event loop leave in one
write (auto-pipelining, as ioredis and valkey-glide do). The API sends each JSON job
submission this way: redis-py's asyncio client takes a connection from its pool, checks it,
sends, reads and gives it back for every command, which cost ~0.3 ms of CPU per submission
(py-spy, issue 6); this costs a few microseconds and one system call per batch of commands.

Failures read like redis-py's, so the API's error handlers answer them alike (503): a server
that cannot be reached or a connection that drops is `redis.ConnectionError`, no answer within
the socket timeout is `redis.TimeoutError` (the connection is then dropped: a late reply must
not be taken for another command's), an error reply is `redis.ResponseError` (NOSCRIPT:
`NoScriptError`). A command whose connection dropped is not sent again: it may have run.

The API's job watcher hears every job's ending on `listen()`: redis-py's pub/sub machinery
cost ~10% of the API's CPU per one-row job.

With a `redis+sentinel://` URL every new connection goes to the primary a Sentinel names, and
a demoted primary's `READONLY` reply drops the connection (the command, which did not run,
is sent once more on a new one): a failover looks like a reconnection, not like a failure.

`execute_replicated` sends a write followed by `WAIT`: the writes issued in one turn of the
event loop share one `WAIT` at the end of their batch, and while one `WAIT` is answered the
next waits for it, so a missing replica costs a batch one timeout, not one per write.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

import hiredis
import redis
from redis.asyncio.connection import parse_url
from redis.exceptions import NoScriptError, ReadOnlyError
from redis.typing import EncodableT

from inferq.redis_sentinel import is_sentinel_url, parse_sentinel_url

log = logging.getLogger(__name__)


class MultiplexedRedis:
    """Sends commands over one shared connection, opened on first use and after a drop."""

    def __init__(self, url: str, timeout: float | None, connect_timeout: float = 1.0) -> None:
        self._sentinel = None
        if is_sentinel_url(url):
            parsed = parse_sentinel_url(url)
            self._options: dict[str, Any] = parsed.primary_kwargs
            self._master = parsed.master
            self._sentinel = parsed.async_sentinel()
        else:
            self._options = dict(parse_url(url))
            connection_class = self._options.pop("connection_class", None)
            if connection_class is not None and "path" not in self._options:
                raise ValueError(f"only redis:// and unix:// URLs are multiplexed, not {url}")
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._connection: _Connection | None = None
        self._opening = asyncio.Lock()

    async def execute(self, *args: EncodableT) -> Any:
        """The reply to one command (bulk strings as bytes)."""
        try:
            return await self._execute(args)
        except ReadOnlyError:  # a demoted primary: it did not run the command
            return await self._execute(args)

    async def execute_replicated(self, replicas: int, timeout_ms: int, *args: EncodableT) -> Any:
        """The reply to one write command, once `replicas` replicas acknowledged it (`WAIT`);
        NotReplicated, holding the reply, when fewer did within `timeout_ms`."""
        try:
            return await self._execute(args, (replicas, timeout_ms))
        except ReadOnlyError:
            return await self._execute(args, (replicas, timeout_ms))

    async def _execute(self, args: tuple[Any, ...], wait: tuple[int, int] | None = None) -> Any:
        connection = self._connection
        if connection is None or connection.closed:
            connection = await self._open()
        reply = connection.send(_pack(args))
        acked = None if wait is None else connection.wait_after(_pack(("WAIT", *wait)))
        try:
            async with asyncio.timeout(self.timeout):
                result = await reply
                # Shared with the batch's other writes: one caller giving up must not cancel it.
                replicas = 0 if acked is None else await asyncio.shield(acked)
        except TimeoutError:
            connection.drop()
            raise redis.TimeoutError(f"no answer from Redis within {self.timeout} s") from None
        except ReadOnlyError:
            connection.drop()
            raise
        if wait is not None and replicas < wait[0]:
            raise NotReplicated(result, replicas, wait[0])
        return result

    async def listen(self, channel: str, on_message: Callable[[bytes], None]) -> None:
        """Hand every message published on `channel` to `on_message` until cancelled, on a
        connection of its own (a subscribed connection takes no other command).

        Raises `redis.ConnectionError` when the connection drops: messages published until
        the caller subscribes again are not seen.
        """
        connection = await self._connect()
        try:
            connection.subscribe(_pack(("SUBSCRIBE", channel)), on_message)
            lost = await connection.lost
        finally:
            connection.drop()
        raise redis.ConnectionError(f"subscription to Redis lost: {lost}")

    async def aclose(self) -> None:
        """Close the connection (a later command opens a new one)."""
        if self._connection is not None:
            self._connection.drop()
            self._connection = None
        if self._sentinel is not None:
            await self._sentinel.aclose()

    async def _address(self) -> tuple[str, int]:
        """Where the primary is: the URL's server, or the one the Sentinels name now."""
        if self._sentinel is None:
            return self._options.get("host", "localhost"), self._options.get("port", 6379)
        try:
            host, port = await self._sentinel.discover_master(self._master)
        except redis.ConnectionError as exc:  # MasterNotFoundError: mid-failover
            raise redis.ConnectionError(f"no primary known to the Sentinels: {exc}") from exc
        return host, int(port)

    async def _open(self) -> _Connection:
        async with self._opening:
            if self._connection is not None and not self._connection.closed:
                return self._connection
            self._connection = await self._connect()
            return self._connection

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        options = self._options
        try:
            async with asyncio.timeout(self.connect_timeout):
                if "path" in options:
                    _, connection = await loop.create_unix_connection(_Connection, options["path"])
                else:
                    host, port = await self._address()
                    _, connection = await loop.create_connection(_Connection, host, port)
        except (OSError, TimeoutError) as exc:
            raise redis.ConnectionError(f"cannot reach Redis: {exc}") from exc
        hello: list[tuple[str, ...]] = []
        if options.get("password"):
            hello.append(("AUTH", options.get("username") or "default", options["password"]))
        if options.get("db"):
            hello.append(("SELECT", str(options["db"])))
        for command in hello:
            try:
                async with asyncio.timeout(self.connect_timeout):
                    await connection.send(_pack(command))
            except (redis.ResponseError, TimeoutError) as exc:
                connection.drop()
                raise redis.ConnectionError(f"Redis refused {command[0]}: {exc}") from exc
        return connection


class NotReplicated(redis.RedisError):
    """A write ran on the primary but fewer replicas than asked acknowledged it in time."""

    def __init__(self, reply: Any, replicas: int, wanted: int) -> None:
        super().__init__(f"{replicas} of {wanted} replicas acknowledged the write in time")
        self.reply = reply
        self.replicas = replicas
        self.wanted = wanted


class Script:
    """A Lua script run by its SHA-1 on a multiplexed connection, loaded when Redis lacks it."""

    def __init__(self, client: MultiplexedRedis, source: str) -> None:
        self.client = client
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def __call__(
        self, keys: list[EncodableT], args: list[EncodableT], replicas: int = 0, timeout_ms: int = 0
    ) -> Any:
        """The script's reply for `keys` and `args`; with `replicas`, once that many replicas
        acknowledged its writes (see `MultiplexedRedis.execute_replicated`)."""
        try:
            return await self._run(keys, args, replicas, timeout_ms)
        except NoScriptError:  # a restarted or newly promoted primary does not hold it yet
            await self.client.execute("SCRIPT", "LOAD", self.source)
            return await self._run(keys, args, replicas, timeout_ms)

    async def _run(
        self, keys: list[EncodableT], args: list[EncodableT], replicas: int, timeout_ms: int
    ) -> Any:
        command = ("EVALSHA", self.sha, len(keys), *keys, *args)
        if replicas:
            return await self.client.execute_replicated(replicas, timeout_ms, *command)
        return await self.client.execute(*command)


class _Connection(asyncio.Protocol):
    """The socket: queues outgoing commands for one write per loop turn, matches replies."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.reader = hiredis.Reader()
        self.transport: asyncio.Transport | None = None
        self.waiting: deque[asyncio.Future[Any]] = deque()
        self.outgoing: list[bytes] = []
        self.closed = False
        self.lost: asyncio.Future[Exception | None] = self.loop.create_future()
        self.on_message: Callable[[bytes], None] | None = None
        self.next_wait: tuple[bytes, asyncio.Future[Any]] | None = None
        self.waiting_for_replicas = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, packed: bytes) -> asyncio.Future[Any]:
        reply = self.loop.create_future()
        self.waiting.append(reply)
        if not self.outgoing:
            self.loop.call_soon(self._flush)
        self.outgoing.append(packed)
        return reply

    def wait_after(self, packed_wait: bytes) -> asyncio.Future[Any]:
        """The reply of a `WAIT` sent after the commands sent so far (shared by every caller
        until it leaves: at the end of this loop turn's batch, or once the `WAIT` before it
        was answered)."""
        if self.next_wait is None:
            self.next_wait = (packed_wait, self.loop.create_future())
            if not self.outgoing:
                self.loop.call_soon(self._flush)
        return self.next_wait[1]

    def _send_wait(self) -> None:
        if self.next_wait is None or self.waiting_for_replicas:
            return
        packed, reply = self.next_wait
        self.next_wait = None
        self.waiting_for_replicas = True
        self.waiting.append(reply)
        self.outgoing.append(packed)
        reply.add_done_callback(self._replicas_answered)

    def _replicas_answered(self, _: asyncio.Future[Any]) -> None:
        self.waiting_for_replicas = False
        if self.next_wait is not None:
            self.loop.call_soon(self._flush)

    def subscribe(self, packed: bytes, on_message: Callable[[bytes], None]) -> None:
        """Send SUBSCRIBE: from now on every reply is a push, its message handed over."""
        self.on_message = on_message
        if self.transport is not None and not self.closed:
            self.transport.write(packed)

    def _flush(self) -> None:
        self._send_wait()
        if self.transport is not None and not self.closed and self.outgoing:
            self.transport.write(b"".join(self.outgoing))
        self.outgoing.clear()

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        try:
            self._hand_out_replies()
        except hiredis.ProtocolError:
            self.drop()

    def _hand_out_replies(self) -> None:
        while (reply := self.reader.gets()) is not False:
            if self.on_message is not None:
                self._push(reply)
                continue
            waiter = self.waiting.popleft()
            if waiter.done():  # its caller gave up (cancelled)
                continue
            if isinstance(reply, hiredis.ReplyError):
                waiter.set_exception(_reply_error(str(reply)))
                if str(reply).startswith("READONLY"):  # the primary was demoted
                    self.drop()
                    return
            else:
                waiter.set_result(reply)

    def _push(self, reply: Any) -> None:
        if isinstance(reply, hiredis.ReplyError):  # SUBSCRIBE refused (ACL): give up on it
            log.warning("Redis refused the subscription: %s", reply)
            self.drop()
        elif isinstance(reply, list) and reply[0] == b"message":
            try:
                self.on_message(reply[2])  # type: ignore[misc]  # set before SUBSCRIBE
            except Exception:  # one bad message must not end the subscription
                log.exception("a published message could not be handled")

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.lost.done():
            self.lost.set_result(exc)
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_exception(redis.ConnectionError(f"connection to Redis lost: {exc}"))
        if self.next_wait is not None and not self.next_wait[1].done():
            self.next_wait[1].set_exception(redis.ConnectionError(f"connection lost: {exc}"))

    def drop(self) -> None:
        """Close the socket; commands still waiting fail with ConnectionError."""
        self.closed = True
        if self.transport is not None:
            self.transport.close()


def _reply_error(message: str) -> redis.ResponseError:
    if message.startswith("NOSCRIPT"):
        return NoScriptError(message)
    if message.startswith("READONLY"):
        return ReadOnlyError(message)
    return redis.ResponseError(message)


def _pack(command: tuple[Any, ...]) -> bytes:
    """One command in the Redis protocol (hiredis's stub takes fewer value types than
    redis-py's `EncodableT` names; both pack alike)."""
    return hiredis.pack_command(command)
