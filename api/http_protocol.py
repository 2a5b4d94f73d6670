"""uvicorn's httptools protocol, with each response's head and body leaving in one system call.

uvicorn writes a response's status line and headers, then its body, as two writes on the
socket: two system calls and two TCP segments for every small answer, which the client must
also read twice. For a one-row job that was ~18% of the API's CPU (py-spy, issue 16). Here the
connection's writes made in one turn of the event loop are held and leave together at its end
(`writelines`: one `writev`, no copy), so a head and the body sent right after it are one
segment. Nothing waits longer: the turn ends before the loop next polls the sockets.

It also hands the lanes' requests (job submissions and reads, the protocols' scoring POSTs)
straight to them, past the app's middleware stack (`api.direct`).

Start uvicorn with `--http api.http_protocol:HttpProtocol` (the launcher and the Dockerfile
do); without it the API answers the same, with one more system call per response and the
middleware stack on every request.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any, cast

from starlette.types import ASGIApp, Scope
from uvicorn._types import ASGI3Application
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from api.direct import Direct


class HttpProtocol(HttpToolsProtocol):
    """HttpToolsProtocol writing through a `TurnWriter`, the lanes' requests going to `Direct`."""

    _direct: Direct | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(TurnWriter(transport))  # type: ignore[arg-type]
        direct = direct_for(cast(ASGIApp, self.app))
        # Telemetry switched on at run time is seen by the connections opened after it.
        self._direct = None if direct is None or direct.instrumented() else direct

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        direct = self._direct
        if app is self.app and direct is not None and direct.takes(cast(Scope, cycle.scope)):
            app = cast(ASGI3Application, direct)  # not uvicorn's 503 (concurrency limit)
        super()._start_asgi_task(cycle, app)


@functools.cache
def direct_for(app: ASGIApp) -> Direct | None:
    """The `Direct` lanes of the app the server loaded, made once per app."""
    return Direct.of(app)


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
