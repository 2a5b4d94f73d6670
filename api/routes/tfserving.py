"""TensorFlow Serving REST routes (`api.protocols.tfserving`): `/metadata`. (`:predict`,
`:classify`, `:regress` and KServe v1's `:explain` are answered by `api.protocols.lane`;
`GET /v1/models/{name}` carries `model_version_status` in `api.routes.models`.)"""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from api.protocols import tfserving
from api.protocols.answers import serve
from api.protocols.inference import SyncInference

router = APIRouter(prefix="/v1/models", include_in_schema=False)


@router.get("/{name}/metadata")
async def metadata(name: str, request: Request) -> Response:
    """The schema as TF Serving's signature_defs."""
    return await _metadata(request, name)


@router.get("/{name}/versions/{version}/metadata")
async def version_metadata(name: str, version: str, request: Request) -> Response:
    """One version's signature_defs."""
    return await _metadata(request, f"{name}@{version}")


@router.get("/{name}/labels/{label}/metadata")
async def label_metadata(name: str, label: str, request: Request) -> Response:
    """A label's (an alias's) version's signature_defs."""
    return await _metadata(request, f"{name}@{label}")


async def _metadata(request: Request, ref: str) -> Response:
    async def work() -> Response:
        core: SyncInference = request.app.state.sync
        principal = await core.caller(request)
        model = await core.resolve(ref, principal.tenant)
        return Response(orjson.dumps(tfserving.metadata(model)), media_type="application/json")

    return await serve(request, tfserving.PROTOCOL, tfserving.error_body, work)
