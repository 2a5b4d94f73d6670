"""Listing models, their versions, aliases and input schemas."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from api.deps import RegistryDep
from api.schemas import ModelList, ModelPublic, ModelVersionPublic
from api.views import model_public, model_version_public

router = APIRouter(prefix="/v1/models", tags=["models"])


@router.get("", response_model=ModelList, summary="List models")
async def list_models(registry: RegistryDep) -> ModelList:
    """Every model with its versions, aliases and input schema."""

    def build() -> ModelList:
        return ModelList(data=[model_public(registry, name) for name in registry.names()])

    return await run_in_threadpool(build)


@router.get("/{name}", response_model=ModelPublic, summary="Show a model")
async def get_model(name: str, registry: RegistryDep) -> ModelPublic:
    """One model; 404 when unknown."""
    return await run_in_threadpool(model_public, registry, name)


@router.get(
    "/{name}/versions/{version}", response_model=ModelVersionPublic, summary="Show a version"
)
async def get_model_version(name: str, version: int, registry: RegistryDep) -> ModelVersionPublic:
    """One exact version with its schema; 404 when unknown."""
    meta = await run_in_threadpool(registry.get_version, name, version)
    return model_version_public(meta)
