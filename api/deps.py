"""Dependencies of the routes, as Annotated aliases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import Problem
from inferq.api_keys import ADMIN_TENANT, SCOPES, KeyStore, is_admin_key
from inferq.config import Settings
from inferq.jobs.store import JobStore
from inferq.limits import TenantLimits
from inferq.oidc import TokenRefused, looks_like_jwt, verifier_for
from inferq.storage import Storage
from inferq.usage.tally import UsageTally
from inferq.webhooks.deliveries import DeliveryStore
from inferq.webhooks.secrets import WebhookSecrets
from models.registry import ModelRegistry


@dataclass(frozen=True)
class Principal:
    """Who is calling: the tenant whose data they see and what they may do."""

    tenant: str
    scopes: frozenset[str]
    name: str = ""
    """Who this is, for the records of who changed what (an alias): a key's id and name."""


async def get_app_settings(request: Request) -> Settings:
    """The settings the app was built with (read once, never per request)."""
    return request.app.state.settings


async def get_store(request: Request) -> JobStore:
    """The app's job store."""
    return request.app.state.store


async def get_storage(request: Request) -> Storage:
    """The app's file storage."""
    return request.app.state.storage


async def get_registry(request: Request) -> ModelRegistry:
    """The app's model registry."""
    return request.app.state.registry


async def get_deliveries(request: Request) -> DeliveryStore:
    """Webhook deliveries, in the job store's Redis."""
    return DeliveryStore(request.app.state.store.redis)


async def get_webhook_secrets(request: Request) -> WebhookSecrets:
    """Webhook signing secrets, in the job store's Redis."""
    return WebhookSecrets(request.app.state.store.redis)


async def get_keys(request: Request) -> KeyStore:
    """The app's API key store."""
    return request.app.state.keys


async def get_limits(request: Request) -> TenantLimits:
    """The app's per-tenant limits."""
    return request.app.state.limits


async def get_usage_tally(request: Request) -> UsageTally:
    """The app's tally of usage counted outside the scripts (uploads, downloads)."""
    return request.app.state.usage_tally


_BASE_URLS: dict[tuple[object, ...], str] = {}
#: Distinct (scheme, Host, root path) combinations remembered; the Host header is the client's.
_BASE_URLS_KEPT = 64


def base_url(request: Request) -> str:
    """`str(request.base_url)`, remembered per scheme, Host header and root path: building it
    is ~7% of the API's CPU on a one-row poll (py-spy), and it is the same on every request."""
    scope = request.scope
    key = (scope["scheme"], request.headers.get("host"), scope.get("root_path"), scope["server"])
    found = _BASE_URLS.get(key)
    if found is None:
        found = str(request.base_url)
        if len(_BASE_URLS) < _BASE_URLS_KEPT:
            _BASE_URLS[key] = found
    return found


bearer = HTTPBearer(
    auto_error=False,
    description="An inferq API key, `Bearer iqk_...`, or a JWT of the OIDC issuer (if configured).",
)


def bearer_key(request: Request) -> str | None:
    """The key of the request's `Authorization: Bearer` header, None without one: what
    `bearer` reads, without building its credentials model (the lanes read it on every
    request; the routes keep `bearer`, which also documents the scheme in /openapi.json)."""
    authorization = request.headers.get("authorization")
    if not authorization:
        return None
    scheme, _, key = authorization.partition(" ")
    key = key.strip()
    return key if key and scheme.lower() == "bearer" else None


async def get_principal(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    settings: Annotated[Settings, Depends(get_app_settings)],
    keys: Annotated[KeyStore, Depends(get_keys)],
    limits: Annotated[TenantLimits, Depends(get_limits)],
) -> Principal:
    """The caller named by the API key (401 without a valid one), counted against its rate."""
    principal = await authenticate(credentials.credentials if credentials else None, settings, keys)
    await limits.take_request_async(principal.tenant)
    return principal


async def get_caller(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    settings: Annotated[Settings, Depends(get_app_settings)],
    keys: Annotated[KeyStore, Depends(get_keys)],
) -> Principal:
    """The caller named by the API key (401 without a valid one), not yet counted against its
    rate: the route admits it (`api.admission`)."""
    return await authenticate(credentials.credentials if credentials else None, settings, keys)


async def authenticate(key: str | None, settings: Settings, keys: KeyStore) -> Principal:
    """Who presents `key`: the bootstrap admin, a stored key's tenant and scopes, or 401."""
    if not settings.auth_enabled:
        return Principal(ADMIN_TENANT, frozenset(SCOPES), "anonymous (auth disabled)")
    if not key:
        raise _unauthorized("an API key is required: Authorization: Bearer <key>")
    if is_admin_key(key, settings.admin_key):
        return Principal(ADMIN_TENANT, frozenset(SCOPES), "INFERQ_ADMIN_KEY")
    if settings.oidc_issuer and looks_like_jwt(key):
        return await _token_principal(key, settings)
    found = await keys.authenticate_async(key)
    if found is None:
        raise _unauthorized("the API key is not valid (unknown or revoked)")
    return Principal(found.tenant, frozenset(found.scopes), f"key {found.id} ({found.name})")


async def _token_principal(token: str, settings: Settings) -> Principal:
    """The tenant and scopes an OIDC token grants; 401, 403 or 503 as `inferq.oidc` decides."""
    try:
        identity = await verifier_for(settings).verify(token)
    except TokenRefused as refused:
        if refused.status == 401:
            raise _unauthorized(refused.detail) from None
        unavailable = refused.status == 503
        retry = {"Retry-After": str(settings.retry_after_seconds)} if unavailable else None
        raise Problem(refused.status, refused.detail, headers=retry) from None
    return Principal(identity.tenant, identity.scopes, f"token of tenant {identity.tenant}")


def _unauthorized(detail: str) -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="inferq"'})


def require_scope(scope: str, *, counted: bool = True) -> Any:
    """A dependency that answers 403 unless the caller's key carries `scope` (or `admin`);
    `counted=False` leaves the request's rate token to the route (see `api.admission`)."""

    async def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        return in_scope(principal, scope)

    async def check_uncounted(principal: Annotated[Principal, Depends(get_caller)]) -> Principal:
        return in_scope(principal, scope)

    return Depends(check if counted else check_uncounted)


def in_scope(principal: Principal, scope: str) -> Principal:
    """The principal, if its key carries `scope` (or `admin`); else 403."""
    if scope not in principal.scopes and "admin" not in principal.scopes:
        raise Problem(403, f"this key or token lacks the {scope!r} scope", title="Forbidden")
    return principal


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
StoreDep = Annotated[JobStore, Depends(get_store)]
StorageDep = Annotated[Storage, Depends(get_storage)]
RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]
DeliveriesDep = Annotated[DeliveryStore, Depends(get_deliveries)]
WebhookSecretsDep = Annotated[WebhookSecrets, Depends(get_webhook_secrets)]
KeysDep = Annotated[KeyStore, Depends(get_keys)]
LimitsDep = Annotated[TenantLimits, Depends(get_limits)]
UsageTallyDep = Annotated[UsageTally, Depends(get_usage_tally)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
JobsWrite = Annotated[Principal, require_scope("jobs:write")]
JobsSubmit = Annotated[Principal, require_scope("jobs:write", counted=False)]
JobsRead = Annotated[Principal, require_scope("jobs:read")]
ModelsWrite = Annotated[Principal, require_scope("models:write")]
Admin = Annotated[Principal, require_scope("admin")]
