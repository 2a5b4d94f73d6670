"""Models registered when inferq starts: the demo models and the configured repository folder."""

from __future__ import annotations

from inferq.config import Settings
from inferq.redis_client import make_redis
from inferq.storage import Storage
from models.checking import CheckLimits
from models.registry import ModelRegistry
from models.repository import LoadReport, load_repository


def registry_for(settings: Settings) -> ModelRegistry:
    """A registry on the configured Redis and storage."""
    return ModelRegistry(make_redis(settings), Storage.from_settings(settings))


def register_startup_models(settings: Settings) -> list[LoadReport]:
    """Register the demo models (if enabled) and the model repository (if set)."""
    from models.demo import ensure_demo_models

    reports = []
    if settings.demo_models:
        reports.append(ensure_demo_models(settings))
    if settings.model_repository is not None:
        registry = registry_for(settings)
        reports.append(
            load_repository(
                settings.model_repository, registry, CheckLimits.from_settings(settings)
            )
        )
    return reports


if __name__ == "__main__":
    import logging

    from inferq.config import get_settings

    logging.basicConfig(level=logging.INFO)
    for report in register_startup_models(get_settings()):
        print("registered:", ", ".join(report.added) or "nothing new")
