"""The API's HTTP protocol: a response's head and body leave the process in one write."""

from __future__ import annotations

import asyncio
from typing import Any

from api.http_protocol import TurnWriter


class RecordingTransport:
    """What reached the socket, write by write (a list of pieces for one `writelines`)."""

    def __init__(self) -> None:
        self.writes: list[list[bytes]] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append([data])

    def writelines(self, pieces: list[bytes]) -> None:
        self.writes.append(list(pieces))

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 8000) if name == "sockname" else None


def test_writes_of_one_turn_leave_together_at_its_end() -> None:
    async def scenario() -> tuple[list[list[bytes]], list[list[bytes]]]:
        socket = RecordingTransport()
        writer = TurnWriter(socket)  # type: ignore[arg-type]
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        writer.write(b"{}")
        during = list(socket.writes)
        await asyncio.sleep(0)  # the turn ends
        writer.write(b"next")
        await asyncio.sleep(0)
        return during, socket.writes

    during, after = asyncio.run(scenario())
    assert during == []
    assert after == [[b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n", b"{}"], [b"next"]]


def test_close_sends_what_the_turn_wrote_first() -> None:
    async def scenario() -> tuple[list[list[bytes]], bool]:
        socket = RecordingTransport()
        writer = TurnWriter(socket)  # type: ignore[arg-type]
        writer.write(b"last answer")
        writer.close()
        await asyncio.sleep(0)  # the scheduled flush finds nothing left
        return socket.writes, socket.closed

    assert asyncio.run(scenario()) == ([[b"last answer"]], True)


def test_everything_else_is_the_transport_s() -> None:
    writer = TurnWriter(RecordingTransport())  # type: ignore[arg-type]
    assert writer.get_extra_info("sockname") == ("127.0.0.1", 8000)
