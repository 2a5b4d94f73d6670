"""uvicorn's httptools protocol, with each response's head and body leaving in one system call.

uvicorn writes a response's status line and headers, then its body, as two writes on the
socket: two system calls and two TCP segments for every small answer, which the client must
also read twice. For a one-row job that was ~18% of the API's CPU (py-spy, issue 16). Here the
connection's writes made in one turn of the event loop are held and leave together at its end
(`writelines`: one `writev`, no copy), so a head and the body sent right after it are one
segment. Nothing waits longer: the turn ends before the loop next polls the sockets.

Start uvicorn with `--http api.http_protocol:HttpProtocol` (the launcher and the Dockerfile
do); without it the API answers the same, one more system call per response.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class HttpProtocol(HttpToolsProtocol):
    """HttpToolsProtocol writing through a `TurnWriter`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(TurnWriter(transport))  # type: ignore[arg-type]


class TurnWriter:
    """A transport whose writes in one loop turn leave together at its end; everything else
    (close, pause, extra info) is the transport's own, after what was held has left."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._held: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._held:
            asyncio.get_running_loop().call_soon(self.flush)
        self._held.append(data)

    def flush(self) -> None:
        """Hand what this turn wrote to the socket."""
        held = self._held
        if not held:
            return
        self._held = []
        if len(held) == 1:
            self._transport.write(held[0])
        else:
            self._transport.writelines(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
