"""Open Inference Protocol v2 routes (`api.protocols.v2`): server and model health, metadata
and readiness (infer is answered by `api.protocols.lane`). Every model route needs an API key;
the server routes do not."""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.protocols import v2
from api.protocols.answers import serve
from api.protocols.inference import SyncInference

router = APIRouter(prefix="/v2", include_in_schema=False)


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")


@router.get("")
async def server_metadata() -> Response:
    """The server's name, version and protocol extensions."""
    return _json({"name": "inferq", "version": "0.1.0", "extensions": ["binary_tensor_data"]})


@router.get("/health/live")
async def live() -> Response:
    """200 while the process serves requests."""
    return _json({"live": True})


@router.get("/health/ready")
async def ready(request: Request) -> Response:
    """200 when Redis answers (requests can be queued), else 503."""

    async def check() -> Response:
        await request.app.state.store.aredis.ping()
        return _json({"ready": True})

    return await serve(request, v2.PROTOCOL, v2.error_body, check)


@router.get("/models/{name}")
async def model_metadata(name: str, request: Request) -> Response:
    """The model's inputs and outputs."""
    return await serve(request, v2.PROTOCOL, v2.error_body, lambda: _metadata(request, name))


@router.get("/models/{name}/versions/{version}")
async def version_metadata(name: str, version: str, request: Request) -> Response:
    """One version's inputs and outputs."""
    ref = f"{name}@{version}"
    return await serve(request, v2.PROTOCOL, v2.error_body, lambda: _metadata(request, ref))


@router.get("/models/{name}/ready")
async def model_ready(name: str, request: Request) -> Response:
    """200 when the model exists for the caller (workers load it on first use)."""
    return await serve(request, v2.PROTOCOL, v2.error_body, lambda: _ready(request, name))


@router.get("/models/{name}/versions/{version}/ready")
async def version_ready(name: str, version: str, request: Request) -> Response:
    """200 when that version exists for the caller."""
    ref = f"{name}@{version}"
    return await serve(request, v2.PROTOCOL, v2.error_body, lambda: _ready(request, ref))


async def _metadata(request: Request, ref: str) -> Response:
    core: SyncInference = request.app.state.sync
    principal = await core.caller(request)
    model = await core.resolve(ref, principal.tenant)
    versions = await run_in_threadpool(core.registry.versions, model.name)
    visible = [v.version for v in versions if v.visible_to(principal.tenant)]
    return _json(v2.metadata(model, visible))


async def _ready(request: Request, ref: str) -> Response:
    core: SyncInference = request.app.state.sync
    principal = await core.caller(request)
    model = await core.resolve(ref, principal.tenant)
    return _json({"name": model.name, "version": str(model.version), "ready": True})
