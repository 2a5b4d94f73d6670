"""The protocols' scoring requests past FastAPI's routing, straight to their endpoints.

A one-row v2 infer spent about half of the API's CPU in FastAPI's route matching, dependency
solving and middleware (py-spy, issue 19): more than the inference core itself. As the job lane
(`api.lane`) does for small jobs, this middleware answers the protocols' scoring POSTs itself
with `api.protocols.endpoints`, which answer every error in the protocol's own shape. Their
other routes (metadata, health) are ordinary routes in `api.routes`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope

from api.lane import Lane
from api.protocols.endpoints import mlflow_invoke, tfserving_verb, v2_infer

Endpoint = Callable[[Request], Awaitable[Response]]


class ProtocolLane(Lane):
    """ASGI middleware answering `POST` v2 infer, TF Serving/KServe verbs and invocations."""

    async def answer(self, scope: Scope, receive: Receive) -> Response | None:
        """The endpoint's answer to a scoring POST; None for any other request."""
        endpoint = None
        if scope["type"] == "http" and scope["method"] == "POST":
            endpoint = endpoint_of(scope["path"])
        if endpoint is None:
            return None
        return await endpoint(Request(scope, receive))


def endpoint_of(path: str) -> Endpoint | None:
    """The endpoint scoring a POST to `path`, or None (FastAPI answers it)."""
    if path == "/invocations":
        return mlflow_invoke
    parts = path.split("/")
    if path.startswith("/v2/models/"):
        return _v2(parts[3:])
    if path.startswith("/v1/models/"):
        return _v1(parts[3:])
    return None


def _v2(parts: list[str]) -> Endpoint | None:
    """`{name}/infer` or `{name}/versions/{v}/infer`."""
    if not parts[0] or parts[-1] != "infer":
        return None
    if len(parts) == 2:
        return partial(v2_infer, ref=parts[0])
    if len(parts) == 4 and parts[1] == "versions" and parts[2]:
        return partial(v2_infer, ref=f"{parts[0]}@{parts[2]}")
    return None


def _v1(parts: list[str]) -> Endpoint | None:
    """`{name}/invocations`, or `{name}[/versions/{v}|/labels/{l}]:{verb}`."""
    if len(parts) == 2 and parts[1] == "invocations" and parts[0]:
        return partial(mlflow_invoke, ref=parts[0])
    target, colon, verb = parts[-1].rpartition(":")
    if not colon or not target or not parts[0]:
        return None
    if len(parts) == 1:
        return partial(tfserving_verb, ref=target, verb=verb)
    if len(parts) != 3 or parts[1] not in ("versions", "labels"):
        return None
    if parts[1] == "versions" and not target.isdigit():
        refusal = f"version must be a number, not {target!r}"
        return partial(tfserving_verb, ref=parts[0], verb=verb, refusal=refusal)
    return partial(tfserving_verb, ref=f"{parts[0]}@{target}", verb=verb)
