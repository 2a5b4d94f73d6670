"""Listing models, their versions, aliases and input schemas."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from api.deps import PrincipalDep, RegistryDep
from api.errors import AUTHENTICATED_PROBLEMS, problem_responses
from api.schemas import ModelList, ModelPublic, ModelVersionPublic
from api.views import model_public, model_version_public
from models.registry import ModelNotFound

router = APIRouter(prefix="/v1/models", tags=["models"], responses=AUTHENTICATED_PROBLEMS)


@router.get("", response_model=ModelList, summary="List models")
async def list_models(registry: RegistryDep, principal: PrincipalDep) -> ModelList:
    """Every model the caller may score, with its versions, aliases and input schema."""

    def build() -> ModelList:
        visible = [
            name
            for name in registry.names()
            if any(v.visible_to(principal.tenant) for v in registry.versions(name))
        ]
        return ModelList(data=[model_public(registry, n, principal.tenant) for n in visible])

    return await run_in_threadpool(build)


@router.get(
    "/{name}", response_model=ModelPublic, summary="Show a model", responses=problem_responses(404)
)
async def get_model(name: str, registry: RegistryDep, principal: PrincipalDep) -> ModelPublic:
    """One model; 404 when unknown or another tenant's."""
    return await run_in_threadpool(model_public, registry, name, principal.tenant)


@router.get(
    "/{name}/versions/{version}",
    response_model=ModelVersionPublic,
    summary="Show a version",
    responses=problem_responses(404),
)
async def get_model_version(
    name: str, version: int, registry: RegistryDep, principal: PrincipalDep
) -> ModelVersionPublic:
    """One exact version with its schema; 404 when unknown or another tenant's."""
    meta = await run_in_threadpool(registry.get_version, name, version)
    if not meta.visible_to(principal.tenant):
        raise ModelNotFound(f"model {name!r} has no version {version}")
    return model_version_public(meta)
