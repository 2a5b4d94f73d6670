"""Turning an uploaded artifact into a registered, checked model version."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.deps import Principal
from api.errors import Problem
from inferq.config import Settings
from inferq.schema import FeatureType
from models.aliases import AliasBook
from models.artifacts import ArtifactError, UploadFormat
from models.checking import CheckFailed, CheckLimits, CheckRequest, check_artifact
from models.mlflow_model import MlflowModelError
from models.mlflow_model import from_files as mlflow_from_files
from models.mlflow_model import unpack as mlflow_from_archive
from models.mlflow_registry import MlflowSourceError, MlflowUnavailable, fetch_model_files
from models.policy import (
    ALIAS_NAME,
    MODEL_NAME,
    UntrustedTypes,
    UploadForbidden,
    check_trusted,
    check_upload_allowed,
)
from models.registry import ModelRegistry, ModelVersion


@dataclass
class VersionUpload:
    """What a `POST /v1/models/{name}/versions` form carried."""

    name: str
    artifact: bytes
    format: UploadFormat
    description: str = ""
    trusted_types: list[str] = field(default_factory=list)
    feature_names: list[str] = field(default_factory=list)
    feature_types: dict[str, FeatureType] = field(default_factory=dict)
    classes: list[Any] | None = None
    shared: bool = False
    alias: str | None = None
    source: str | None = None
    """An MLflow model URI (`models:/name@alias`, `models:/name/3`, `runs:/<id>/<path>`)."""


class VersionImport(BaseModel):
    """A JSON upload: an MLflow model URI and the form's other fields."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=2000, examples=["models:/churn@champion"])
    description: str = Field(default="", max_length=2000)
    trusted_types: list[str] = []
    feature_names: list[str] = []
    feature_types: dict[str, Literal["number", "string"]] = {}
    classes: list[str | int] | None = None
    shared: bool = False
    alias: str | None = None


async def mlflow_import(name: str, request: Request) -> VersionUpload:
    """The upload a JSON body `{"source": "models:/..."}` asks for; 422 for any other body."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise _invalid("Missing artifact", "file", "send a file, or JSON with an MLflow source")
    try:
        body = VersionImport.model_validate_json(await request.body())
    except ValidationError as exc:
        errors = [{"loc": ["body", *e["loc"]], "msg": e["msg"]} for e in exc.errors()]
        raise Problem(422, str(errors[0]["msg"]), title="Invalid body", errors=errors) from exc
    fields = body.model_dump(exclude={"source"})
    return VersionUpload(name=name, artifact=b"", format="mlflow", source=body.source, **fields)


def accept_upload(
    upload: VersionUpload, principal: Principal, settings: Settings, registry: ModelRegistry
) -> ModelVersion:
    """Check rights, trust, and that the artifact loads and predicts elsewhere; then register."""
    if upload.source is not None or upload.format == "mlflow":
        _take_mlflow_flavor(upload, settings)
    _check_names(upload)
    try:
        check_upload_allowed(upload.format, upload.shared, principal.scopes)
    except UploadForbidden as exc:
        raise Problem(403, str(exc), title="Forbidden") from exc
    _check_owner(upload.name, principal, registry)
    if upload.format == "skops":
        _check_skops_trust(upload)
    if upload.format == "mlflow":
        raise _invalid("Unreadable artifact", "format", "no MLflow flavor was unpacked")
    request = CheckRequest(
        upload.artifact,
        upload.format,
        upload.trusted_types,
        upload.feature_names,
        upload.feature_types,
        upload.classes,
    )
    try:
        schema = check_artifact(request, CheckLimits.from_settings(settings))
    except CheckFailed as exc:
        raise _invalid("The model failed its check", exc.loc, exc.msg) from exc
    version = registry.register(
        upload.name,
        upload.artifact,
        upload.format,
        schema,
        tenant=principal.tenant,
        shared=upload.shared,
        trusted_types=upload.trusted_types,
        description=upload.description,
    )
    if upload.alias:
        AliasBook(registry).put(upload.name, upload.alias, version.version, None, principal.name)
    return version


def _take_mlflow_flavor(upload: VersionUpload, settings: Settings) -> None:
    """Replace an MLflow model (archive or registry URI) by the flavor inferq loads from it."""
    try:
        if upload.source is not None:
            files = fetch_model_files(upload.source, settings.mlflow_tracking_uri)
            found = mlflow_from_files(files)
        else:
            found = mlflow_from_archive(upload.artifact)
    except MlflowUnavailable as exc:
        raise Problem(502, str(exc), title="MLflow tracking server unavailable") from exc
    except MlflowSourceError as exc:
        raise _invalid("Unresolvable MLflow model", "source", str(exc)) from exc
    except MlflowModelError as exc:
        raise _invalid("Unloadable MLflow model", "file", str(exc)) from exc
    upload.format, upload.artifact = found.format, found.artifact
    upload.feature_names = upload.feature_names or found.feature_names
    upload.feature_types = {**found.feature_types, **upload.feature_types}
    upload.description = upload.description or f"MLflow {found.flavor} model"


def _check_names(upload: VersionUpload) -> None:
    if not MODEL_NAME.match(upload.name):
        raise _invalid("Invalid model name", "name", f"must match {MODEL_NAME.pattern}")
    if upload.alias is not None and not ALIAS_NAME.match(upload.alias):
        raise _invalid("Invalid alias", "alias", f"must match {ALIAS_NAME.pattern}")
    if not upload.artifact:
        raise _invalid("Empty artifact", "file", "the uploaded file is empty")


def _check_owner(name: str, principal: Principal, registry: ModelRegistry) -> None:
    owner = registry.owner(name)
    if owner is not None and owner != principal.tenant and "admin" not in principal.scopes:
        raise Problem(409, f"the model name {name!r} is taken; choose another", title="Conflict")


def _check_skops_trust(upload: VersionUpload) -> None:
    try:
        check_trusted(upload.artifact, upload.trusted_types)
    except UntrustedTypes as exc:
        raise _invalid("Untrusted types in the artifact", "trusted_types", str(exc)) from exc
    except ArtifactError as exc:
        raise _invalid("Unreadable artifact", "file", str(exc)) from exc


def _invalid(title: str, field_name: str, msg: str) -> Problem:
    return Problem(422, msg, title=title, errors=[{"loc": ["body", field_name], "msg": msg}])
