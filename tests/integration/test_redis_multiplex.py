"""The API's shared Redis connection (inferq.redis_multiplex) against a real Redis server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from inferq.redis_multiplex import MultiplexedRedis, Script
from inferq.redis_server import RedisServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A Redis server of this module's own."""
    server = RedisServer(tmp_path_factory.mktemp("multiplex"), appendonly=False).start()
    try:
        yield server
    finally:
        server.stop()


def run(coroutine):  # type: ignore[no-untyped-def]
    return asyncio.run(coroutine)


def test_concurrent_commands_each_get_their_own_reply(server: RedisServer) -> None:
    """A thousand commands in flight at once on one connection: every caller gets its reply."""

    async def scenario() -> list[object]:
        client = MultiplexedRedis(server.url, timeout=5)
        await asyncio.gather(*(client.execute("SET", f"mx:{i}", i * 3) for i in range(1000)))
        replies = await asyncio.gather(*(client.execute("GET", f"mx:{i}") for i in range(1000)))
        await client.aclose()
        return replies

    assert run(scenario()) == [str(i * 3).encode() for i in range(1000)]


def test_an_error_reply_fails_its_command_alone(server: RedisServer) -> None:
    """A command Redis refuses raises ResponseError; the commands sent with it still succeed."""

    async def scenario() -> list[object]:
        client = MultiplexedRedis(server.url, timeout=5)
        await client.execute("SET", "mx:text", "abc")
        replies = await asyncio.gather(
            client.execute("SET", "mx:a", 1),
            client.execute("INCR", "mx:text"),
            client.execute("GET", "mx:a"),
            return_exceptions=True,
        )
        await client.aclose()
        return replies

    first, refused, last = run(scenario())
    assert first == b"OK"
    assert isinstance(refused, redis.ResponseError) and "not an integer" in str(refused)
    assert last == b"1"


def test_a_script_loads_itself_when_redis_has_forgotten_it(server: RedisServer) -> None:
    """After SCRIPT FLUSH (or a restart) the script is loaded again and runs."""

    async def scenario() -> tuple[object, object]:
        client = MultiplexedRedis(server.url, timeout=5)
        script = Script(client, "return {KEYS[1], ARGV[1] + 1}")
        first = await script(keys=["mx:k"], args=[41])
        await client.execute("SCRIPT", "FLUSH")
        second = await script(keys=["mx:k"], args=[1])
        await client.aclose()
        return first, second

    assert run(scenario()) == ([b"mx:k", 42], [b"mx:k", 2])


def test_no_answer_within_the_timeout_is_a_timeout_and_the_next_reply_is_not_mixed_up(
    server: RedisServer,
) -> None:
    """A blocked command times out; the next command gets its own reply, not the late one."""

    async def scenario() -> object:
        client = MultiplexedRedis(server.url, timeout=0.2)
        with pytest.raises(redis.TimeoutError):
            await client.execute("BLPOP", "mx:empty", 1)
        await client.execute("SET", "mx:after", "mine")
        reply = await client.execute("GET", "mx:after")
        await client.aclose()
        return reply

    assert run(scenario()) == b"mine"


def test_a_restarted_server_is_reconnected_to(tmp_path: Path) -> None:
    """While Redis is down a command is a ConnectionError (503 in the API); once it is back
    the next command reconnects by itself."""
    server = RedisServer(tmp_path / "redis", appendonly=False).start()

    async def scenario() -> object:
        client = MultiplexedRedis(server.url, timeout=2)
        await client.execute("SET", "mx:before", 1)
        server.stop()
        with pytest.raises(redis.ConnectionError):
            await client.execute("GET", "mx:before")
        server.start()
        reply = await client.execute("PING")
        await client.aclose()
        return reply

    try:
        assert run(scenario()) == b"PONG"
    finally:
        server.stop()


def test_the_urls_user_password_and_database_are_used(server: RedisServer) -> None:
    """`redis://user:password@host:port/db` logs in and selects the database; a wrong password
    is a ConnectionError."""
    admin = redis.Redis.from_url(server.url)
    admin.acl_setuser(
        "mx-user", enabled=True, passwords=["+s3cret"], keys=["*"], commands=["+@all"]
    )
    base = f"127.0.0.1:{server.port}"

    async def scenario() -> None:
        client = MultiplexedRedis(f"redis://mx-user:s3cret@{base}/3", timeout=5)
        await client.execute("SET", "mx:in-db-3", "yes")
        await client.aclose()
        wrong = MultiplexedRedis(f"redis://mx-user:wrong@{base}/3", timeout=5)
        with pytest.raises(redis.ConnectionError):
            await wrong.execute("PING")

    run(scenario())
    assert redis.Redis.from_url(f"redis://{base}/3").get("mx:in-db-3") == b"yes"
    assert admin.get("mx:in-db-3") is None


def test_a_subscription_hands_over_every_message_and_reports_a_lost_connection(
    tmp_path: Path,
) -> None:
    """`listen` hands each message published on its channel (and no other) to the callback,
    survives a callback that raises, and raises ConnectionError when Redis goes away."""
    server = RedisServer(tmp_path / "redis", appendonly=False).start()
    heard: list[bytes] = []

    def on_message(data: bytes) -> None:
        if data == b"bad":
            raise ValueError("a message the callback cannot handle")
        heard.append(data)

    async def scenario() -> None:
        client = MultiplexedRedis(server.url, timeout=2)
        listening = asyncio.create_task(client.listen("mx:channel", on_message))
        publisher = redis.Redis.from_url(server.url)
        while not publisher.pubsub_numsub("mx:channel")[0][1]:
            await asyncio.sleep(0.01)
        for data in (b"one", b"bad", b"two"):
            publisher.publish("mx:channel", data)
        publisher.publish("mx:other", b"not ours")
        publisher.publish("mx:channel", b"three")
        while len(heard) < 3:
            await asyncio.sleep(0.01)
        server.stop()
        with pytest.raises(redis.ConnectionError):
            await asyncio.wait_for(listening, 5)

    try:
        run(scenario())
    finally:
        server.stop()
    assert heard == [b"one", b"two", b"three"]
