"""Usage: what a tenant used, per day or per model (for charging it back)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BeforeValidator

from api.deps import PrincipalDep, StoreDep
from api.errors import AUTHENTICATED_PROBLEMS, Problem, problem_responses
from api.usage_schemas import UsageReport
from inferq.usage.keys import today
from inferq.usage.report import MAX_DAYS, GroupBy, report

router = APIRouter(prefix="/v1/usage", tags=["usage"], responses=AUTHENTICATED_PROBLEMS)
#: Days a report covers when `from` is not given.
DEFAULT_DAYS = 30
_TENANT = r"^[a-z0-9][a-z0-9_-]{0,62}$"
_FROM = "First UTC day, YYYY-MM-DD (default: 29 days before `to`)"
_TO = "Last UTC day, YYYY-MM-DD (default: today)"
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day(value: Any) -> Any:
    """Only `YYYY-MM-DD`: pydantic would also take a number as a Unix time (`to=0`)."""
    if isinstance(value, str) and not _DAY.fullmatch(value):
        raise ValueError("expected a day as YYYY-MM-DD")
    return value


Day = Annotated[date, BeforeValidator(_iso_day)]


@router.get(
    "",
    response_model=UsageReport,
    response_model_exclude_none=True,
    summary="Show a tenant's usage",
    responses=problem_responses(404),
)
async def get_usage(
    principal: PrincipalDep,
    store: StoreDep,
    first: Annotated[Day | None, Query(alias="from", description=_FROM)] = None,
    last: Annotated[Day | None, Query(alias="to", description=_TO)] = None,
    group_by: Annotated[GroupBy, Query(description="A line per `day` or per `model`")] = "day",
    tenant: Annotated[
        str | None, Query(pattern=_TENANT, description="Another tenant's usage (admin only)")
    ] = None,
) -> dict:
    """Jobs, sync requests, rows scored and failed, CPU-seconds and bytes in and out of the
    caller's tenant (an admin: any tenant's), from `from` to `to`."""
    tenant = tenant or principal.tenant
    if tenant != principal.tenant and "admin" not in principal.scopes:
        raise Problem(404, f"no tenant {tenant}", title="Tenant not found")
    last = last or today()
    first = first or _days_before(last, DEFAULT_DAYS - 1)
    _check_range(first, last)
    lines, total = await run_in_threadpool(report, store.redis, tenant, first, last, group_by)
    return {
        "tenant": tenant,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "group_by": group_by,
        "data": [line.as_dict(group_by) for line in lines],
        "total": total.as_dict(),
    }


def _days_before(day: date, days: int) -> date:
    """`days` days before `day`, or the first day there is (`to=0001-01-05` is a valid day)."""
    return day - timedelta(days=min(days, (day - date.min).days))


def _check_range(first: date, last: date) -> None:
    """422 naming `from` for a range that runs backwards or is longer than `MAX_DAYS`."""
    if first > last:
        msg = f"from ({first}) is after to ({last})"
    elif (last - first).days + 1 > MAX_DAYS:
        msg = f"the range is {(last - first).days + 1} days; at most {MAX_DAYS} may be asked"
    else:
        return
    errors = [{"loc": ["query", "from"], "msg": msg}]
    raise Problem(422, msg, title="Invalid request", errors=errors)
