"""Models registered when inferq starts: the demo models and the configured repository folder.

This module owns start-up: it builds the registry and calls the demo trainers (`models.demo`)
and the repository loader (`models.repository`), which know nothing of each other's callers.
`python -m models.startup` registers both; `python -m models.startup FOLDER` loads one folder.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from inferq.config import Settings, get_settings
from inferq.redis_client import make_redis
from inferq.storage import Storage
from models.checking import CheckLimits
from models.demo import write_demo_models
from models.registry import ModelRegistry
from models.repository import LoadReport, load_repository

#: The exit status when some versions were refused (each is printed); the launcher goes on.
REFUSED_EXIT = 3


def registry_for(settings: Settings) -> ModelRegistry:
    """A registry on the configured Redis and storage."""
    return ModelRegistry(make_redis(settings), Storage.from_settings(settings))


def ensure_demo_models(settings: Settings | None = None) -> LoadReport:
    """Train each demo model not registered yet into `<var_dir>/demo-models/`, then load that
    folder the way a team's model repository is loaded."""
    settings = settings or get_settings()
    registry = registry_for(settings)
    root = settings.var_dir / "demo-models"
    write_demo_models(root, registry.exists)
    return load_repository(root, registry, CheckLimits.from_settings(settings))


def register_startup_models(settings: Settings) -> list[LoadReport]:
    """Register the demo models (if enabled) and the model repository (if set)."""
    reports = []
    if settings.demo_models:
        reports.append(ensure_demo_models(settings))
    if settings.model_repository is not None:
        reports.append(load_folder(settings.model_repository, settings))
    return reports


def load_folder(root: Path, settings: Settings) -> LoadReport:
    """Load one model repository folder into the configured registry."""
    return load_repository(root, registry_for(settings), CheckLimits.from_settings(settings))


def main(argv: list[str]) -> int:
    """Register the start-up models, or only the folder named in `argv`; `REFUSED_EXIT` (3) if
    any version was refused."""
    settings = get_settings()
    folder = [load_folder(Path(argv[0]), settings)] if argv else None
    reports = folder or register_startup_models(settings)
    for report in reports:
        print("registered:", ", ".join(report.added) or "nothing new")
        for ref, reason in report.refused.items():
            print(f"refused {ref}: {reason}", file=sys.stderr)
    return REFUSED_EXIT if any(report.refused for report in reports) else 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    sys.exit(main(sys.argv[1:]))
