"""A tenant's limits: read by the tenant itself or an admin, changed by an admin."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.concurrency import run_in_threadpool

from api.deps import Admin, LimitsDep, PrincipalDep
from api.errors import AUTHENTICATED_PROBLEMS, Problem, problem_responses
from api.schemas import LimitsUpdate, LimitValues, TenantLimitsPublic
from inferq.limits import TenantLimits

router = APIRouter(prefix="/v1/tenants", tags=["tenants"], responses=AUTHENTICATED_PROBLEMS)
TenantPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]


@router.get(
    "/{tenant}/limits",
    response_model=TenantLimitsPublic,
    summary="Show a tenant's limits",
    responses=problem_responses(404),
)
async def get_limits(
    tenant: TenantPath, principal: PrincipalDep, limits: LimitsDep
) -> TenantLimitsPublic:
    """The limits in force for the caller's tenant (an admin: any tenant's)."""
    if tenant != principal.tenant and "admin" not in principal.scopes:
        raise Problem(404, f"no tenant {tenant}", title="Tenant not found")
    return await run_in_threadpool(_public, limits, tenant)


@router.put("/{tenant}/limits", response_model=TenantLimitsPublic, summary="Set a tenant's limits")
async def set_limits(
    tenant: TenantPath, body: LimitsUpdate, _: Admin, limits: LimitsDep
) -> TenantLimitsPublic:
    """Give a tenant its own limits (null: back to the default); in force from its next request."""
    values = {name: getattr(body, name) for name in body.model_fields_set}
    await run_in_threadpool(limits.set_overrides, tenant, values)
    return await run_in_threadpool(_public, limits, tenant)


def _public(limits: TenantLimits, tenant: str) -> TenantLimitsPublic:
    return TenantLimitsPublic(
        tenant=tenant,
        limits=LimitValues.model_validate(limits.effective(tenant)),
        own=sorted(limits.overrides(tenant)),
        jobs_in_flight=limits.in_flight(tenant),
    )
