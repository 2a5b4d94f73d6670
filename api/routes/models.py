"""Models: list and show versions and schemas, upload versions, move aliases."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool

from api.deps import ModelsWrite, Principal, PrincipalDep, RegistryDep, SettingsDep
from api.errors import AUTHENTICATED_PROBLEMS, Problem, problem_responses
from api.monitoring.reference_intake import (
    new_version_reference,
    read_reference,
    upload_reference,
)
from api.registry.uploads import VersionUpload, accept_upload, mlflow_import
from api.registry.views import model_public, model_version_public
from api.routes.openapi_links import link
from api.schemas import AliasUpdate, ModelList, ModelPublic, ModelVersionPublic
from inferq.schema import FeatureType
from models.aliases import AliasBook, SplitRefused
from models.artifacts import UploadFormat
from models.policy import ALIAS_NAME
from models.registry import ModelNotFound, ModelRegistry
from models.routing import Split

router = APIRouter(prefix="/v1/models", tags=["models"], responses=AUTHENTICATED_PROBLEMS)
_NAME = "$request.path.name"
_VERSION = "$response.body#/version"
_ALIAS = "/v1/models/{name}/aliases/{alias}"
#: What a client can do next with an uploaded version.
_VERSION_LINKS = {
    "GetModel": link("/v1/models/{name}", "get", "The model with all its versions", name=_NAME),
    "GetModelVersion": link(
        "/v1/models/{name}/versions/{version}",
        "get",
        "This version",
        name=_NAME,
        version=_VERSION,
    ),
    "PutModelAlias": link(
        _ALIAS, "put", "Point an alias at this version", {"version": _VERSION}, name=_NAME
    ),
}
_DELETE_ALIAS = link(_ALIAS, "delete", "Remove it", name=_NAME, alias="$request.path.alias")


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


@router.post(
    "/{name}/versions",
    status_code=201,
    response_model=ModelVersionPublic,
    summary="Upload a version",
    responses={201: {"links": _VERSION_LINKS}, **problem_responses(409, 413)},
)
async def upload_version(
    name: str,
    principal: ModelsWrite,
    settings: SettingsDep,
    registry: RegistryDep,
    response: Response,
    request: Request,
    file: Annotated[
        UploadFile | None,
        File(description='The model artifact (or a JSON body {"source": "models:/name@alias"})'),
    ] = None,
    format: Annotated[UploadFormat, Form()] = "skops",
    description: Annotated[str, Form(max_length=2000)] = "",
    trusted_types: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    feature_names: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    feature_types: Annotated[str, Form(description='JSON, e.g. {"plan": "string"}')] = "{}",
    classes: Annotated[
        list[str], Form(description="Class labels in the model's order, for boosters and ONNX")
    ] = [],  # noqa: B006 - FastAPI copies defaults
    shared: Annotated[bool, Form()] = False,
    alias: Annotated[str | None, Form(description="Point this alias at the new version")] = None,
    reference: Annotated[
        UploadFile | None, File(description="A training sample (CSV/Parquet) to monitor against")
    ] = None,
) -> ModelVersionPublic:
    """Check an artifact in a separate process and register it as the model's next version;
    a `reference` file becomes its reference profile for monitoring.

    A JSON body `{"source": "models:/churn@champion"}` imports from the MLflow registry instead.
    """
    if file is None:
        upload = await mlflow_import(name, request)
        version = await run_in_threadpool(accept_upload, upload, principal, settings, registry)
        response.headers["Location"] = f"/v1/models/{name}/versions/{version.version}"
        return model_version_public(version)
    too_big = Problem(413, f"the artifact is over {settings.max_model_bytes} bytes")
    if file.size is not None and file.size > settings.max_model_bytes:
        raise too_big
    artifact = await file.read(settings.max_model_bytes + 1)
    if len(artifact) > settings.max_model_bytes:
        raise too_big
    upload = VersionUpload(
        name=name,
        artifact=artifact,
        format=format,
        description=description,
        trusted_types=_split(trusted_types),
        feature_names=_split(feature_names),
        feature_types=_feature_types(feature_types),
        classes=_classes(_split(classes)),
        shared=shared,
        alias=alias or None,
    )
    sample = await read_reference(reference, settings) if reference is not None else None
    frame = await run_in_threadpool(upload_reference, *sample) if sample is not None else None
    version = await run_in_threadpool(accept_upload, upload, principal, settings, registry)
    if frame is not None:
        await run_in_threadpool(new_version_reference, frame, version, settings, registry)
    response.headers["Location"] = f"/v1/models/{name}/versions/{version.version}"
    return model_version_public(version)


@router.put(
    "/{name}/aliases/{alias}",
    response_model=ModelPublic,
    summary="Point an alias",
    responses={
        200: {"links": {"DeleteModelAlias": _DELETE_ALIAS}},
        **problem_responses(404),
    },
)
async def put_alias(
    name: str, alias: str, body: AliasUpdate, principal: ModelsWrite, registry: RegistryDep
) -> ModelPublic:
    """Point `alias` at an existing version, with an optional canary (a share of the traffic)
    and shadow (scores every job too, for comparison); new jobs naming it resolve by it. A
    PUT without a canary or shadow clears them; the body of an earlier PUT rolls back to it."""
    if not ALIAS_NAME.match(alias) or alias.isdigit():
        raise Problem(422, f"alias names must match {ALIAS_NAME.pattern}")
    await run_in_threadpool(check_owner, registry, name, principal)
    canary = body.canary
    split = Split(
        canary=canary.version if canary else None,
        percent=canary.percent if canary else 0.0,
        shadow=body.shadow,
    )
    book = AliasBook(registry)
    try:
        await run_in_threadpool(book.put, name, alias, body.version, split, principal.name)
    except SplitRefused as refused:
        raise split_problem(refused) from None
    return await run_in_threadpool(model_public, registry, name, principal.tenant)


@router.delete(
    "/{name}/aliases/{alias}",
    status_code=204,
    summary="Remove an alias",
    responses=problem_responses(404),
)
async def delete_alias(
    name: str, alias: str, principal: ModelsWrite, registry: RegistryDep
) -> Response:
    """Remove an alias and its split; jobs already submitted keep the version they resolved to."""
    await run_in_threadpool(check_owner, registry, name, principal)
    book = AliasBook(registry)
    if not await run_in_threadpool(book.delete, name, alias, principal.name):
        raise Problem(404, f"model {name!r} has no alias {alias!r}", title="Alias not found")
    return Response(status_code=204)


def split_problem(refused: SplitRefused) -> Problem:
    """422 naming the canary or shadow field that cannot be used, and why."""
    return Problem(
        422,
        str(refused),
        title="Invalid alias split",
        errors=[{"loc": ["body", refused.field], "msg": str(refused)}],
    )


def check_owner(registry: ModelRegistry, name: str, principal: Principal) -> None:
    """Aliases move only for the tenant owning the model (or an admin); others get 404 or 403."""
    owner = registry.owner(name)
    if owner is None or not any(v.visible_to(principal.tenant) for v in registry.versions(name)):
        raise ModelNotFound(f"no model named {name!r}")
    if owner != principal.tenant and "admin" not in principal.scopes:
        raise Problem(403, f"model {name!r} belongs to another tenant", title="Forbidden")


def _split(values: list[str]) -> list[str]:
    """Form lists given as repeated fields, comma-separated, or both."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _classes(labels: list[str]) -> list[str | int] | None:
    """Class labels as given; all-integer labels as integers, as a booster numbers them."""
    if not labels:
        return None
    if all(label.lstrip("-").isdigit() for label in labels):
        return [int(label) for label in labels]
    return list(labels)


def _feature_types(raw: str) -> dict[str, FeatureType]:
    try:
        parsed = orjson.loads(raw or "{}")
    except orjson.JSONDecodeError as exc:
        raise _form_error("feature_types", f"not JSON: {exc}") from exc
    if not isinstance(parsed, dict) or any(v not in ("number", "string") for v in parsed.values()):
        raise _form_error("feature_types", 'expected an object of "number" or "string" values')
    return parsed


def _form_error(field_name: str, msg: str) -> Problem:
    return Problem(
        422, msg, title="Invalid form", errors=[{"loc": ["body", field_name], "msg": msg}]
    )
