"""Monitoring: a version's reference profile, its drift report, and a model's drift alerts."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from api.deps import (
    ModelsWrite,
    PrincipalDep,
    RegistryDep,
    SettingsDep,
    StorageDep,
    StoreDep,
    WebhookSecretsDep,
)
from api.errors import AUTHENTICATED_PROBLEMS, Problem, problem_responses
from api.monitoring import examples
from api.monitoring.reference_intake import (
    invalid,
    read_reference,
    reference_from_bytes,
    reference_from_job,
    store_reference,
)
from api.monitoring.schemas import MonitoringUpdate, ReferenceFromJob, Window
from api.routes.models import check_owner
from inferq.config import Settings
from inferq.monitoring.alerts import MonitoringConfig, MonitoringConfigs
from inferq.monitoring.reference import Reference, ReferenceStore
from inferq.monitoring.report import monitoring_report
from inferq.webhooks.registration import check_webhook_registration
from models.registry import ModelRegistry, ModelVersion

router = APIRouter(prefix="/v1/models", tags=["monitoring"], responses=AUTHENTICATED_PROBLEMS)
_REFERENCE_BODY = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
            "application/json": {"schema": ReferenceFromJob.model_json_schema()},
        }
    }
}


@router.put(
    "/{name}/versions/{version}/reference",
    summary="Set a version's reference profile",
    responses={**examples.REFERENCE, **problem_responses(404, 413)},
    openapi_extra=_REFERENCE_BODY,
)
async def put_reference(
    name: str,
    version: int,
    request: Request,
    principal: ModelsWrite,
    settings: SettingsDep,
    registry: RegistryDep,
    store: StoreDep,
    storage: StorageDep,
) -> dict[str, Any]:
    """Profile a training sample (multipart `file`, CSV or Parquet) or a succeeded job's inputs
    (`{"job": id}`) as the version's reference; drift is measured against it from now on."""
    meta = await run_in_threadpool(owned_version, registry, name, version, principal)
    references = ReferenceStore(registry.redis)
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        data, filename = await _reference_file(request, settings)
        frame = await run_in_threadpool(reference_from_bytes, data, filename)
        source, job = "file", None
    else:
        job = _job_body(await request.body()).job
        frame = await run_in_threadpool(
            reference_from_job, job, meta, principal.tenant, store, storage
        )
        source = "job"
    ref = await run_in_threadpool(store_reference, frame, meta, source, settings, references, job)
    return reference_public(name, version, ref)


@router.get(
    "/{name}/versions/{version}/monitoring",
    summary="Drift and data quality of a version",
    responses={**examples.REPORT, **problem_responses(404)},
)
async def get_monitoring(
    name: str, version: int, principal: PrincipalDep, registry: RegistryDep, window: Window = "1h"
) -> dict[str, Any]:
    """Rows scored in the window; per feature PSI against the reference, missing, out-of-range
    and unseen-category rates and both histograms; the same for the predictions."""
    meta = await run_in_threadpool(owned_version, registry, name, version, principal)
    return await run_in_threadpool(
        monitoring_report, registry.redis, meta.schema, name, version, window
    )


@router.put(
    "/{name}/monitoring",
    summary="Set a model's drift alert",
    responses={**examples.ALERT, **problem_responses(404)},
)
async def put_monitoring(
    name: str,
    body: MonitoringUpdate,
    principal: ModelsWrite,
    registry: RegistryDep,
    settings: SettingsDep,
    secrets: WebhookSecretsDep,
) -> dict[str, Any]:
    """A signed `model.drift` webhook when a feature's or the predictions' PSI over `window`
    passes `psi_threshold` (with at least `min_rows` rows), at most once per window."""
    await run_in_threadpool(check_owner, registry, name, principal)
    webhook = body.webhook.model_dump() if body.webhook else None
    await run_in_threadpool(
        check_webhook_registration, webhook, principal.tenant, settings, secrets
    )
    owner = registry.owner(name) or principal.tenant
    config = MonitoringConfig(owner, body.psi_threshold, body.min_rows, body.window, webhook)
    await run_in_threadpool(MonitoringConfigs(registry.redis).put, name, config)
    return {"model": name, **{k: v for k, v in asdict(config).items() if k != "tenant"}}


def owned_version(registry: ModelRegistry, name: str, version: int, principal: Any) -> ModelVersion:
    """The version, when the caller owns its model (or is an admin); 404 or 403 otherwise."""
    check_owner(registry, name, principal)
    return registry.get_version(name, version)


def reference_public(name: str, version: int, ref: Reference) -> dict[str, Any]:
    """The stored reference as answered: its summary and per-feature profiles."""
    features = {
        feature: {k: v for k, v in profile.items() if k != "known"}
        for feature, profile in ref.features.items()
    }
    return {"model": name, "version": version, **ref.summary(), "features": features}


async def _reference_file(request: Request, settings: Settings) -> tuple[bytes, str]:
    form = await request.form(max_files=1, max_fields=10)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise invalid("file", "a multipart `file` part holding the reference rows is required")
    return await read_reference(upload, settings)


def _job_body(raw: bytes) -> ReferenceFromJob:
    try:
        return ReferenceFromJob.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        errors = [{"loc": ["body", *map(str, e["loc"])], "msg": e["msg"]} for e in exc.errors()]
        detail = 'expected a multipart `file` or {"job": "<id>"}'
        raise Problem(422, detail, title="Invalid body", errors=errors) from exc
