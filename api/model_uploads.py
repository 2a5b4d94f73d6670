"""Turning an uploaded artifact into a registered, checked model version."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from api.deps import Principal
from api.errors import Problem
from inferq.config import Settings
from models.artifacts import ArtifactError, ArtifactFormat
from models.checking import CheckFailed, CheckLimits, CheckRequest, check_artifact
from models.policy import (
    ALIAS_NAME,
    MODEL_NAME,
    UntrustedTypes,
    UploadForbidden,
    check_trusted,
    check_upload_allowed,
)
from models.registry import ModelRegistry, ModelVersion
from models.schema import FeatureType


@dataclass
class VersionUpload:
    """What a `POST /v1/models/{name}/versions` form carried."""

    name: str
    artifact: bytes
    format: ArtifactFormat
    description: str = ""
    trusted_types: list[str] = field(default_factory=list)
    feature_names: list[str] = field(default_factory=list)
    feature_types: dict[str, FeatureType] = field(default_factory=dict)
    classes: list[Any] | None = None
    shared: bool = False
    alias: str | None = None


def accept_upload(
    upload: VersionUpload, principal: Principal, settings: Settings, registry: ModelRegistry
) -> ModelVersion:
    """Check rights, trust, and that the artifact loads and predicts elsewhere; then register."""
    _check_names(upload)
    try:
        check_upload_allowed(upload.format, upload.shared, principal.scopes)
    except UploadForbidden as exc:
        raise Problem(403, str(exc), title="Forbidden") from exc
    _check_owner(upload.name, principal, registry)
    if upload.format == "skops":
        _check_skops_trust(upload)
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
        registry.set_alias(upload.name, upload.alias, version.version)
    return version


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
