"""MLflow scoring server routes (`api.protocols.mlflow`): `/invocations` per model and for
`INFERQ_INVOCATIONS_MODEL`, and the health endpoints `/ping`, `/health`, `/version`."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from api.errors import Problem
from api.protocols import mlflow
from api.protocols.answers import serve
from api.protocols.inference import SyncCall, SyncInference
from inferq.json_rows import Rows
from models.registry import ModelVersion

router = APIRouter(include_in_schema=False)


@router.get("/ping")
@router.get("/health")
async def ping() -> Response:
    """200 while the process serves requests, as MLflow's scoring server answers."""
    return PlainTextResponse("\n")


@router.get("/version")
async def version() -> Response:
    """The MLflow scoring protocol version served."""
    return PlainTextResponse(mlflow.VERSION)


@router.post("/v1/models/{name}/invocations")
async def model_invocations(name: str, request: Request) -> Response:
    """Score the body's rows with the version `name` resolves to."""
    return await serve(request, mlflow.PROTOCOL, mlflow.error_body, lambda: _invoke(request, name))


@router.post("/invocations")
async def invocations(request: Request) -> Response:
    """Score with the model named by INFERQ_INVOCATIONS_MODEL."""
    ref = request.app.state.settings.invocations_model
    return await serve(request, mlflow.PROTOCOL, mlflow.error_body, lambda: _invoke(request, ref))


async def _invoke(request: Request, ref: str) -> Response:
    core: SyncInference = request.app.state.sync
    principal = await core.caller(request, "jobs:write")
    if not ref:
        raise Problem(404, "no model is served at /invocations: set INFERQ_INVOCATIONS_MODEL")
    content_type = request.headers.get("content-type", "")
    kind = mlflow.media_type(content_type)
    if kind is None:
        raise Problem(
            415,
            "This predictor only supports the following content types: "
            f"{', '.join(mlflow.MEDIA_TYPES)}. Got {content_type!r}.",
        )
    parsed: list[mlflow.InvocationRequest] = []

    def parse(raw: bytes, model: ModelVersion) -> tuple[Rows, tuple[str, ...]]:
        if not parsed:
            parsed.append(mlflow.InvocationRequest(raw, kind))
        return parsed[0].rows(model), parsed[0].outputs

    scored = await core.infer(request, principal, SyncCall(mlflow.PROTOCOL, ref), parse)
    return Response(parsed[0].answer(scored), media_type="application/json")
