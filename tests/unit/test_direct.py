"""The lanes' requests go from the HTTP protocol straight to the lanes (`api.direct`), past the
middleware stack, and every other request, or one the skipped layers would change, through it.

Requests are fed to the API's real uvicorn protocol over an in-memory transport; the app is the
real one, without its lifespan (no Redis): the answers tested here need none. A middleware added
to the app marks each answer that went through the stack.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
import pytest
import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.server import ServerState

from api.direct import Direct
from api.http_protocol import HttpProtocol
from api.main import create_app
from inferq.config import Settings

ADMIN = "iqk_admin_key_for_the_direct_lanes_test"
MARK = b"x-through-the-stack"


class Marked:
    """Middleware marking every answer it saw leave."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def marking(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (MARK, b"1")]
            await send(message)

        await self.app(scope, receive, marking)


class Socket:
    """The transport's side of one client connection: what the server wrote."""

    def __init__(self) -> None:
        self.written = bytearray()
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written += data

    def writelines(self, pieces: list[bytes]) -> None:
        for piece in pieces:
            self.written += piece

    def get_extra_info(self, name: str) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


@pytest.fixture(scope="module")
def app() -> FastAPI:
    made = create_app(Settings(admin_key=ADMIN))
    made.state.keys = None  # no stored keys: only the admin key or none are presented here
    made.add_middleware(Marked)
    return made


def exchange(app: FastAPI, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of the answer to one raw HTTP/1.1 request."""

    async def scenario() -> bytes:
        config = uvicorn.Config(app, http=HttpProtocol, log_config=None)
        config.load()
        state = ServerState()
        socket = Socket()
        protocol = HttpProtocol(config=config, server_state=state, app_state={})
        protocol.connection_made(socket)  # type: ignore[arg-type]
        protocol.data_received(request)
        while state.tasks:
            await asyncio.gather(*state.tasks)
        await asyncio.sleep(0)  # the turn's writes leave
        if protocol.timeout_keep_alive_task is not None:
            protocol.timeout_keep_alive_task.cancel()
        return bytes(socket.written)

    raw = asyncio.run(scenario())
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    pairs = (line.split(": ", 1) for line in lines[1:])
    headers = {name.lower(): value for name, value in pairs}
    return int(lines[0].split()[1]), headers, body


def request(method: str, target: str, *headers: str, body: bytes = b"") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: api.test", *headers]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def test_a_lanes_request_is_answered_past_the_stack_with_the_apps_handlers(app: FastAPI) -> None:
    """A job read and a submission without a key: the lane's 401 problem, with the Bearer
    challenge, and no mark: the stack was not on their way."""
    for answered in (
        exchange(app, request("GET", "/v1/jobs/j1?wait=1")),
        exchange(app, request("POST", "/v1/jobs", body=b"{}")),
    ):
        status, headers, body = answered
        assert status == 401, body
        assert headers["www-authenticate"].startswith("Bearer")
        assert MARK.decode() not in headers


def test_other_requests_go_through_the_stack(app: FastAPI) -> None:
    """Another path and a deeper job path are the app's, marked. (A query the lane turns
    down is the route's 422: tests/integration/test_job_lane.py, through a real stack.)"""
    for target in ("/v1/nothing", "/v1/jobs/j1/nothing", "/v2/models/iris/nothing"):
        status, headers, _ = exchange(app, request("GET", target))
        assert status == 404 and headers[MARK.decode()] == "1"


def test_a_forwarded_request_goes_through_the_proxy_headers(app: FastAPI) -> None:
    """With X-Forwarded-* headers the proxy-headers middleware may rewrite the scheme and
    client the answer's links come from: such a request takes the whole stack."""
    status, headers, _ = exchange(
        app, request("GET", "/v1/jobs/j1", "X-Forwarded-Proto: https", "X-Forwarded-For: 1.2.3.4")
    )
    assert status == 401 and headers[MARK.decode()] == "1"


def test_an_unexpected_error_is_the_apps_500_problem_and_is_logged(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    """Without its lifespan the app has no job store: the lane fails unexpectedly. The answer
    is the app's problem+json 500, as the server error middleware gives, and the error is
    logged, not swallowed."""
    server_log = logging.getLogger("uvicorn.error")  # uvicorn's own, which may not propagate
    server_log.addHandler(caplog.handler)
    try:
        status, headers, body = exchange(
            app,
            request(
                "POST",
                "/v1/jobs",
                f"Authorization: Bearer {ADMIN}",
                "Content-Type: application/json",
                body=b'{"model": "iris", "instances": [[1, 2, 3, 4]]}',
            ),
        )
    finally:
        server_log.removeHandler(caplog.handler)
    assert status == 500 and headers["content-type"] == "application/problem+json"
    assert MARK.decode() not in headers
    assert orjson.loads(body)["title"] == "Internal Server Error"
    logged = [record.getMessage() for record in caplog.records]
    assert any("unhandled error on POST /v1/jobs" in line for line in logged)
    assert any("Exception in ASGI application" in line for line in logged)


def test_only_an_app_wrapped_in_proxy_headers_at_most_has_direct_lanes(app: FastAPI) -> None:
    """Trace logging's or an adapter's wrapper would be skipped too: then nothing is direct."""
    plain = Direct.of(app)
    assert plain is not None and not plain.behind_proxy_headers
    proxied = Direct.of(ProxyHeadersMiddleware(app))  # type: ignore[arg-type]
    assert proxied is not None and proxied.behind_proxy_headers
    assert Direct.of(Marked(app)) is None
    assert not plain.instrumented()  # no OpenTelemetry provider is configured here
    # `instrumented` reads FastAPI's own switch: an upgrade that renames it must revisit it.
    assert hasattr(app, "_native_telemetry")
