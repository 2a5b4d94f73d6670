"""Building a model's and a version's response bodies from the registry."""

from __future__ import annotations

from api.protocols.tfserving import version_status
from api.schemas import FeaturePublic, ModelPublic, ModelVersionPublic
from models.aliases import AliasBook
from models.registry import ModelNotFound, ModelRegistry, ModelVersion


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
        traffic={
            alias: state.public() for alias, state in AliasBook(registry).states(name).items()
        },
        default_version=registry.resolve(name, tenant).version,
        latest_version=versions[-1].version,
        versions=[model_version_public(v) for v in versions],
        model_version_status=version_status([v.version for v in versions]),
    )
