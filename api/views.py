"""Building response bodies from stored records."""

from __future__ import annotations

import time
from typing import cast

from api.schemas import (
    FeaturePublic,
    JobPublic,
    ModelPublic,
    ModelRef,
    ModelVersionPublic,
    Priority,
    Progress,
)
from inferq.jobs.record import JobRecord
from inferq.timefmt import rfc3339_from_unix
from models.registry import ModelNotFound, ModelRegistry, ModelVersion


def job_public(record: JobRecord, base_url: str) -> JobPublic:
    """The job object for a record; links are absolute URLs under `base_url`."""
    self_url = f"{base_url.rstrip('/')}/v1/jobs/{record.id}"
    return JobPublic(
        id=record.id,
        status=record.visible_status(time.time()).value,
        model=ModelRef(name=record.model_name, version=record.model_version),
        created_at=record.created_at,
        started_at=record.started_at,
        finished_at=record.finished_at,
        progress=Progress(
            rows_total=record.rows_total,
            rows_done=record.rows_done,
            rows_failed=record.rows_failed,
        ),
        error=record.error,
        metadata=record.metadata,
        priority=cast(Priority, record.priority),  # only those three are stored
        outputs=record.outputs,
        passthrough=record.passthrough,
        expires_at=rfc3339_from_unix(record.expires_at),
        attempts=record.attempts,
        links={
            "self": self_url,
            "results": f"{self_url}/results",
            "errors": f"{self_url}/errors",
            "events": f"{self_url}/events",
            "cancel": f"{self_url}/cancel",
        },
    )


def model_version_public(meta: ModelVersion) -> ModelVersionPublic:
    """One version with its schema."""
    schema = meta.schema
    return ModelVersionPublic(
        name=meta.name,
        version=meta.version,
        format=meta.format,
        created_at=meta.created_at,
        description=meta.description,
        task=schema.task,
        classes=schema.classes,
        features=[FeaturePublic(name=f.name, type=f.type) for f in schema.features],
        accepts_missing_values=schema.allow_nan,
        sha256=meta.sha256,
        size_bytes=meta.size_bytes,
        shared=meta.shared,
        trusted_types=meta.trusted_types,
        contributions=schema.contributions,
    )


def model_public(registry: ModelRegistry, name: str, tenant: str) -> ModelPublic:
    """A model with the versions `tenant` may see and its aliases; 404 when it sees none."""
    versions = [v for v in registry.versions(name) if v.visible_to(tenant)]
    if not versions:
        raise ModelNotFound(f"no model named {name!r}")
    return ModelPublic(
        name=name,
        aliases=registry.aliases(name),
        default_version=registry.resolve(name, tenant).version,
        latest_version=versions[-1].version,
        versions=[model_version_public(v) for v in versions],
    )
