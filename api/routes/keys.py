"""API keys: an admin creates, lists and revokes the keys tenants call with."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool

from api.deps import Admin, KeysDep
from api.errors import AUTHENTICATED_PROBLEMS, Problem, problem_responses
from api.routes.openapi_links import link
from api.schemas import KeyCreate, KeyCreated, KeyList, KeyPublic

router = APIRouter(prefix="/v1/keys", tags=["keys"], responses=AUTHENTICATED_PROBLEMS)
TenantQuery = Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]


_REVOKE = link("/v1/keys/{key_id}", "delete", "Revoke it", key_id="$response.body#/id")


@router.post(
    "",
    status_code=201,
    response_model=KeyCreated,
    summary="Create an API key",
    responses={201: {"links": {"RevokeKey": _REVOKE}}},
)
async def create_key(body: KeyCreate, _: Admin, keys: KeysDep) -> KeyCreated:
    """A key for a tenant with the given scopes; the key itself is in this answer only."""
    record, key = await run_in_threadpool(keys.create, body.tenant, list(body.scopes), body.name)
    return KeyCreated(**asdict(record), key=key)


@router.get("", response_model=KeyList, summary="List API keys")
async def list_keys(_: Admin, keys: KeysDep, tenant: TenantQuery = None) -> KeyList:
    """Live keys (optionally of one tenant), without their secrets."""
    found = await run_in_threadpool(keys.list_keys, tenant)
    return KeyList(data=[KeyPublic(**asdict(k)) for k in found])


@router.delete(
    "/{key_id}", status_code=204, summary="Revoke an API key", responses=problem_responses(404)
)
async def revoke_key(key_id: str, _: Admin, keys: KeysDep) -> Response:
    """Revoke a key; the next request made with it is refused with 401."""
    if not await run_in_threadpool(keys.revoke, key_id):
        raise Problem(404, f"no API key {key_id}", title="Key not found")
    return Response(status_code=204)
