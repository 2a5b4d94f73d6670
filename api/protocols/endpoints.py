"""The scoring endpoints of every protocol, as `api.protocols.lane` calls them: each reads the
body with its adapter, asks the inference core, and answers in its protocol's shape (errors
too, through `answers.serve`). Like KServe's v1/v2 endpoints over one data plane."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

import orjson
from starlette.requests import Request
from starlette.responses import Response

from api.deps import Principal
from api.errors import Problem
from api.protocols import mlflow, tfserving, v2
from api.protocols.answers import serve
from api.protocols.inference import Scored, SyncCall, SyncInference
from inferq.json_rows import MatrixRows, Rows
from models.registry import ModelVersion

#: The label of KServe v1's `:explain` in the metrics (its `:predict` is TF Serving's).
KSERVE_V1 = "kserve_v1"


class Adapted(Protocol):
    """A parsed request of any protocol: its rows for a model and the outputs it wants."""

    @property
    def outputs(self) -> tuple[str, ...]: ...

    def rows(self, model: ModelVersion) -> Rows | MatrixRows: ...


T = TypeVar("T", bound=Adapted)


async def v2_infer(request: Request, ref: str) -> Response:
    """`POST /v2/models/{name}[/versions/{v}]/infer`."""

    async def work() -> Response:
        principal = await _core(request).caller(request, "jobs:write")
        call = SyncCall(v2.PROTOCOL, ref)
        parsed, scored = await _scored(
            request, principal, call, lambda raw: v2.read_request(raw, request)
        )
        return _sent(request, principal, scored, parsed.answer(scored))

    return await serve(request, v2.PROTOCOL, v2.error_body, work)


async def tfserving_verb(request: Request, ref: str, verb: str, refusal: str = "") -> Response:
    """`POST /v1/models/{name}[/versions/{v}|/labels/{l}]:{verb}` (TF Serving, KServe v1)."""
    protocol = KSERVE_V1 if verb == "explain" else tfserving.PROTOCOL

    async def work() -> Response:
        principal = await _core(request).caller(request, "jobs:write")
        if refusal:
            raise Problem(400, refusal)
        if verb not in tfserving.VERBS:
            raise Problem(
                404, f"unknown method :{verb}; use :predict, :classify, :regress or :explain"
            )
        call = SyncCall(tfserving.PROTOCOL, ref)
        parsed, scored = await _scored(
            request, principal, call, lambda raw: tfserving.TFRequest(raw, verb)
        )
        return _sent(request, principal, scored, _json(orjson.dumps(parsed.answer(scored))))

    return await serve(request, protocol, tfserving.error_body, work)


async def mlflow_invoke(request: Request, ref: str | None = None) -> Response:
    """`POST /v1/models/{name}/invocations`, or `POST /invocations` (ref None: the model of
    INFERQ_INVOCATIONS_MODEL)."""

    async def work() -> Response:
        principal = await _core(request).caller(request, "jobs:write")
        name = request.app.state.settings.invocations_model if ref is None else ref
        if not name:
            raise Problem(404, "no model is served at /invocations: set INFERQ_INVOCATIONS_MODEL")
        content_type = request.headers.get("content-type", "")
        kind = mlflow.media_type(content_type)
        if kind is None:
            raise Problem(
                415,
                "This predictor only supports the following content types: "
                f"{', '.join(mlflow.MEDIA_TYPES)}. Got {content_type!r}.",
            )
        call = SyncCall(mlflow.PROTOCOL, name)
        parsed, scored = await _scored(
            request, principal, call, lambda raw: mlflow.InvocationRequest(raw, kind)
        )
        return _sent(request, principal, scored, _json(parsed.answer(scored)))

    return await serve(request, mlflow.PROTOCOL, mlflow.error_body, work)


def _core(request: Request) -> SyncInference:
    return request.app.state.sync


async def _scored(
    request: Request, principal: Principal, call: SyncCall, read: Callable[[bytes], T]
) -> tuple[T, Scored]:
    """The request read once by `read`, and its answer from the core."""
    parsed: list[T] = []

    def parse(raw: bytes, model: ModelVersion) -> tuple[Rows | MatrixRows, tuple[str, ...]]:
        if not parsed:
            parsed.append(read(raw))
        return parsed[0].rows(model), parsed[0].outputs

    scored = await _core(request).infer(request, principal, call, parse)
    return parsed[0], scored


def _sent(request: Request, principal: Principal, scored: Scored, response: Response) -> Response:
    """The answer, its bytes counted in the tenant's usage."""
    tally = request.app.state.usage_tally
    tally.add(principal.tenant, scored.model.name, bytes_out=len(response.body))
    return response


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")
