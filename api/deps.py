"""Dependencies of the routes, as Annotated aliases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from inferq.config import Settings, get_settings
from inferq.jobs.store import JobStore
from models.registry import ModelRegistry


@dataclass(frozen=True)
class Principal:
    """Who is calling: the tenant whose data they see and what they may do."""

    tenant: str
    scopes: frozenset[str]


def get_store(request: Request) -> JobStore:
    """The app's job store."""
    return request.app.state.store


def get_registry(request: Request) -> ModelRegistry:
    """The app's model registry."""
    return request.app.state.registry


def get_principal() -> Principal:
    """The caller; every caller is the default tenant with all scopes until keys exist."""
    return Principal("default", frozenset({"jobs:write", "jobs:read", "models:write", "admin"}))


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[JobStore, Depends(get_store)]
RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
