"""The lanes' requests straight from the HTTP protocol, past the app's middleware stack.

The job lane (`api.lane`) and the protocols' lane (`api.protocols.lane`) already answer the
hottest requests without FastAPI's routing. Reaching them still took seven layers on every
request: uvicorn's proxy-headers middleware, FastAPI's and Starlette's `__call__`, the server
error middleware (which wraps every `send`), FastAPI's telemetry and body-limit middleware, and
the other lane; ~10% of the API's CPU for a one-row job (py-spy, issue 16). `Direct` gives
those requests to the lanes itself (`api.http_protocol` hands them over) and does what the
skipped layers would have done for them:

- `scope["app"]` (and FastAPI's `root_path`), as FastAPI and Starlette set them;
- an unexpected error is answered by the app's handler for `Exception` (problem+json 500), then
  raised for uvicorn to log, as the server error middleware does;
- requests the skipped layers would change are not taken: ones carrying `X-Forwarded-*`
  headers (the proxy-headers middleware may rewrite the client and scheme the links are built
  from), and all of them while FastAPI's OpenTelemetry instrumentation is on (it wraps every
  request in a span);
- a request a lane turns down after all (a query its route would refuse) goes through the whole
  app, as it would have.
"""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api.lane import JobLane, Lane, lane_of
from api.protocols.lane import ProtocolLane, endpoint_of

_FORWARDED = b"x-forwarded-"


class Direct:
    """The job and protocol lanes as one ASGI app, for the requests `takes` accepts; `app` is
    the whole application as the server loaded it (any other request goes there)."""

    def __init__(self, fastapi: FastAPI, app: ASGIApp, behind_proxy_headers: bool) -> None:
        self.fastapi = fastapi
        self.app = app
        self.behind_proxy_headers = behind_proxy_headers
        self.lanes: tuple[Lane, ...] = (JobLane(app), ProtocolLane(app))

    @classmethod
    def of(cls, loaded: ASGIApp) -> Direct | None:
        """The lanes of the FastAPI app uvicorn loaded, or None when it is wrapped in anything
        but the proxy-headers middleware (uvicorn's trace logging, WSGI or ASGI2 adapters):
        their requests then all go through it."""
        inner: Any = loaded
        behind_proxy_headers = False
        if isinstance(inner, ProxyHeadersMiddleware):
            inner, behind_proxy_headers = inner.app, True
        if not isinstance(inner, FastAPI):
            return None
        return cls(inner, loaded, behind_proxy_headers)

    def instrumented(self) -> bool:
        """Whether FastAPI's native telemetry would wrap requests in spans and metrics now."""
        telemetry = getattr(self.fastapi, "_native_telemetry", None)
        return telemetry is not None and bool(telemetry.enabled())

    def takes(self, scope: Scope) -> bool:
        """Whether the request is a lane's and nothing skipped here would have changed it."""
        if lane_of(scope) is None and (
            scope["method"] != "POST" or endpoint_of(scope["path"]) is None
        ):
            return False
        if self.behind_proxy_headers:
            return not any(name.startswith(_FORWARDED) for name, _ in scope["headers"])
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fastapi = self.fastapi
        scope["app"] = fastapi
        if fastapi.root_path:
            scope["root_path"] = fastapi.root_path
        answer = None
        try:
            for lane in self.lanes:
                answer = await lane.answer(scope, receive)
                if answer is not None:
                    break
        except Exception as exc:
            handler = fastapi.exception_handlers.get(Exception)
            if handler is not None:
                failure = handler(Request(scope, receive), exc)
                if inspect.isawaitable(failure):
                    failure = await failure
                await failure(scope, receive, send)
            raise
        if answer is None:
            await self.app(scope, receive, send)
        else:
            await answer(scope, receive, send)
