"""Rolling out a version: promote an alias's canary or shadow, and the history of alias changes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.concurrency import run_in_threadpool

from api.deps import ModelsWrite, PrincipalDep, RegistryDep
from api.errors import AUTHENTICATED_PROBLEMS, Problem, problem_responses
from api.monitoring.schemas import Window
from api.registry.views import model_public
from api.routes.models import check_owner, split_problem
from api.schemas import AliasHistory, AliasPromote, ModelPublic
from inferq.comparison import comparison_report
from models.aliases import AliasBook, NothingToPromote, SplitRefused

router = APIRouter(prefix="/v1/models", tags=["models"], responses=AUTHENTICATED_PROBLEMS)


@router.post(
    "/{name}/aliases/{alias}/promote",
    response_model=ModelPublic,
    summary="Promote a canary or shadow",
    responses=problem_responses(404, 409),
)
async def promote(
    name: str,
    alias: str,
    principal: ModelsWrite,
    registry: RegistryDep,
    body: Annotated[AliasPromote | None, Body()] = None,
) -> ModelPublic:
    """Make the alias's canary or shadow its version and clear the split; 409 when it has
    neither. `PUT .../aliases/{alias}` with the body from before (see the history) rolls back."""
    await run_in_threadpool(check_owner, registry, name, principal)
    book = AliasBook(registry)
    to = body.to if body else None
    try:
        await run_in_threadpool(book.promote, name, alias, to, principal.name)
    except SplitRefused as refused:
        raise split_problem(refused) from None
    except NothingToPromote as missing:
        raise Problem(409, str(missing), title="Nothing to promote") from None
    return await run_in_threadpool(model_public, registry, name, principal.tenant)


@router.get(
    "/{name}/history",
    response_model=AliasHistory,
    summary="Alias changes",
    responses=problem_responses(404),
)
async def alias_history(
    name: str,
    principal: PrincipalDep,
    registry: RegistryDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AliasHistory:
    """Every change of the model's aliases (put, delete, promote), newest first, with who made
    it and the alias before and after."""
    await run_in_threadpool(model_public, registry, name, principal.tenant)  # 404 if not visible
    changes = await run_in_threadpool(AliasBook(registry).history, name, limit)
    return AliasHistory.model_validate({"data": changes})


@router.get(
    "/{name}/aliases/{alias}/comparison",
    summary="Compare the shadow with the alias's version",
    responses=problem_responses(404),
)
async def comparison(
    name: str,
    alias: str,
    principal: PrincipalDep,
    registry: RegistryDep,
    window: Window = "1h",
    shadow: Annotated[
        int | None, Query(ge=1, description="An earlier shadow version (default: the current)")
    ] = None,
) -> dict[str, Any]:
    """Rows compared over the window and, for a classifier, label agreement, the confusion
    table (primary label, then shadow label) and each class's mean absolute probability
    difference (rows whose jobs asked for probabilities); for a regressor, the mean and p99
    absolute difference. Plus the 20 rows that differ most (job id and 0-based row)."""
    await run_in_threadpool(model_public, registry, name, principal.tenant)  # 404 if not visible
    state = await run_in_threadpool(AliasBook(registry).state, name, alias)
    if state is None:
        raise Problem(404, f"model {name!r} has no alias {alias!r}", title="Alias not found")
    against = shadow or (state.split.shadow if state.split else None)
    if against is None:
        raise Problem(404, f"alias {alias!r} of {name!r} has no shadow", title="No shadow")
    primary = await run_in_threadpool(registry.get_version, name, state.version)
    classifier = primary.schema.task == "classification"
    report = await run_in_threadpool(
        comparison_report, registry.redis, name, alias, (state.version, against), classifier, window
    )
    return {
        "model": name,
        "alias": alias,
        "version": state.version,
        "shadow": against,
        "window": window,
        "task": primary.schema.task,
        **report,
    }
