"""MLflow scoring server routes (`api.protocols.mlflow`): `/ping`, `/health`, `/version`.
(`/invocations` is answered by `api.protocols.lane`.)"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import PlainTextResponse, Response

from api.protocols import mlflow

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
