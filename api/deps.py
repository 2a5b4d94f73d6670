"""Dependencies of the routes, as Annotated aliases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from api.errors import Problem
from inferq.config import Settings, get_settings
from inferq.jobs.store import JobStore
from inferq.storage import Storage
from inferq.webhooks.deliveries import DeliveryStore
from inferq.webhooks.secrets import WebhookSecrets
from models.registry import ModelRegistry


@dataclass(frozen=True)
class Principal:
    """Who is calling: the tenant whose data they see and what they may do."""

    tenant: str
    scopes: frozenset[str]


def get_store(request: Request) -> JobStore:
    """The app's job store."""
    return request.app.state.store


def get_storage(request: Request) -> Storage:
    """The app's file storage."""
    return request.app.state.storage


def get_registry(request: Request) -> ModelRegistry:
    """The app's model registry."""
    return request.app.state.registry


def get_deliveries(request: Request) -> DeliveryStore:
    """Webhook deliveries, in the job store's Redis."""
    return DeliveryStore(request.app.state.store.redis)


def get_webhook_secrets(request: Request) -> WebhookSecrets:
    """Webhook signing secrets, in the job store's Redis."""
    return WebhookSecrets(request.app.state.store.redis)


def get_principal() -> Principal:
    """The caller; every caller is the default tenant with all scopes until keys exist."""
    return Principal("default", frozenset({"jobs:write", "jobs:read", "models:write", "admin"}))


def require_scope(scope: str) -> Any:
    """A dependency that answers 403 unless the caller's key carries `scope` (or `admin`)."""

    def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if scope not in principal.scopes and "admin" not in principal.scopes:
            raise Problem(403, f"this API key lacks the {scope!r} scope", title="Forbidden")
        return principal

    return Depends(check)


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[JobStore, Depends(get_store)]
StorageDep = Annotated[Storage, Depends(get_storage)]
RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]
DeliveriesDep = Annotated[DeliveryStore, Depends(get_deliveries)]
WebhookSecretsDep = Annotated[WebhookSecrets, Depends(get_webhook_secrets)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
JobsWrite = Annotated[Principal, require_scope("jobs:write")]
JobsRead = Annotated[Principal, require_scope("jobs:read")]
ModelsWrite = Annotated[Principal, require_scope("models:write")]
Admin = Annotated[Principal, require_scope("admin")]
