"""TensorFlow Serving REST and KServe v1 routes (`api.protocols.tfserving`): `:predict`,
`:classify`, `:regress` and `:explain` on a model, a version or a label, and `/metadata`.
(`GET /v1/models/{name}` carries `model_version_status` in `api.routes.models`.)"""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from api.errors import Problem
from api.protocols import tfserving
from api.protocols.answers import serve
from api.protocols.inference import SyncCall, SyncInference
from inferq.json_rows import Rows
from models.registry import ModelVersion

router = APIRouter(prefix="/v1/models", include_in_schema=False)
#: The label of KServe v1's `:explain` in the metrics (its `:predict` is TF Serving's).
KSERVE_V1 = "kserve_v1"


@router.post("/{name}:{verb}")
async def verb(name: str, verb: str, request: Request) -> Response:
    """`:predict`, `:classify`, `:regress` or `:explain` with the version `name` resolves to."""
    return await _serve(request, name, verb)


@router.post("/{name}/versions/{version}:{verb}")
async def version_verb(name: str, version: str, verb: str, request: Request) -> Response:
    """The same on a version number."""
    if not version.isdigit():
        return await _serve(request, name, "", f"version must be a number, not {version!r}")
    return await _serve(request, f"{name}@{version}", verb)


@router.post("/{name}/labels/{label}:{verb}")
async def label_verb(name: str, label: str, verb: str, request: Request) -> Response:
    """The same on a label (an alias)."""
    return await _serve(request, f"{name}@{label}", verb)


@router.get("/{name}/metadata")
async def metadata(name: str, request: Request) -> Response:
    """The schema as TF Serving's signature_defs."""
    return await serve(
        request, tfserving.PROTOCOL, tfserving.error_body, lambda: _meta(request, name)
    )


@router.get("/{name}/versions/{version}/metadata")
async def version_metadata(name: str, version: str, request: Request) -> Response:
    """One version's signature_defs."""
    ref = f"{name}@{version}"
    return await serve(
        request, tfserving.PROTOCOL, tfserving.error_body, lambda: _meta(request, ref)
    )


async def _serve(request: Request, ref: str, verb: str, refusal: str = "") -> Response:
    protocol = KSERVE_V1 if verb == "explain" else tfserving.PROTOCOL

    async def work() -> Response:
        if refusal:
            raise Problem(400, refusal)
        if verb not in tfserving.VERBS:
            raise Problem(404, f"unknown method :{verb}; use :predict, :classify or :regress")
        if verb == "explain":
            await request.app.state.sync.caller(request, "jobs:write")
            raise Problem(501, "explanations are not available on this server yet")
        return await _infer(request, ref, verb)

    return await serve(request, protocol, tfserving.error_body, work)


async def _infer(request: Request, ref: str, verb: str) -> Response:
    core: SyncInference = request.app.state.sync
    principal = await core.caller(request, "jobs:write")
    parsed: list[tfserving.TFRequest] = []

    def parse(raw: bytes, model: ModelVersion) -> tuple[Rows, tuple[str, ...]]:
        if not parsed:
            parsed.append(tfserving.TFRequest(raw, verb))
        return parsed[0].rows(model), parsed[0].outputs

    scored = await core.infer(request, principal, SyncCall(tfserving.PROTOCOL, ref), parse)
    return Response(orjson.dumps(parsed[0].answer(scored)), media_type="application/json")


async def _meta(request: Request, ref: str) -> Response:
    core: SyncInference = request.app.state.sync
    principal = await core.caller(request)
    model = await core.resolve(ref, principal.tenant)
    return Response(orjson.dumps(tfserving.metadata(model)), media_type="application/json")
