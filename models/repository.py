"""A model repository: folders `<name>/<version>/` of an artifact and `model.json`, loaded at start.

For teams that keep models in git. Each version folder holds one artifact (`model.skops`,
`model.joblib`, `model.pkl`, `model.onnx`, `model.xgb` or `model.lgb`) and an optional
`model.json`::

    {"description": "...", "trusted_types": [], "feature_names": [], "feature_types": {},
     "classes": [], "shared": false, "aliases": ["production"]}

Versions already registered with the same bytes are skipped; a version whose bytes differ from the
registered one is reported and never replaces it. New versions are checked in a separate process
(load + predict a sample row) like uploads; `aliases` are set when their version first registers.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from models.artifacts import EXTENSIONS, ArtifactFormat
from models.checking import CheckFailed, CheckLimits, CheckRequest, check_artifacts
from models.policy import MODEL_NAME
from models.registry import ModelNotFound, ModelRegistry

log = logging.getLogger(__name__)
METADATA_FILE = "model.json"
_FORMAT_OF_FILE = {f"model.{ext}": fmt for fmt, ext in EXTENSIONS.items()}


@dataclass
class RepositoryEntry:
    """One `<name>/<version>/` folder: its artifact and metadata."""

    name: str
    version: int
    format: ArtifactFormat
    artifact: bytes
    meta: dict[str, Any]


@dataclass
class LoadReport:
    """What loading a repository did: `name@version` strings per outcome."""

    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


def read_repository(root: Path) -> tuple[list[RepositoryEntry], dict[str, str]]:
    """Every well-formed version folder under root, and the malformed ones with their reason."""
    entries, problems = [], {}
    for folder in sorted(p for p in root.glob("*/*") if p.is_dir()):
        ref = f"{folder.parent.name}@{folder.name}"
        try:
            entries.append(_read_entry(folder))
        except (ValueError, OSError) as exc:
            problems[ref] = str(exc)
    return entries, problems


def _read_entry(folder: Path) -> RepositoryEntry:
    name, version = folder.parent.name, folder.name
    if not MODEL_NAME.match(name) or not version.isdigit() or int(version) < 1:
        raise ValueError("folders must be <model name>/<version number>/")
    artifacts = [p for p in folder.iterdir() if p.name in _FORMAT_OF_FILE]
    if len(artifacts) != 1:
        raise ValueError(f"expected one of {sorted(_FORMAT_OF_FILE)}, found {len(artifacts)}")
    meta_path = folder / METADATA_FILE
    meta = orjson.loads(meta_path.read_bytes()) if meta_path.exists() else {}
    if not isinstance(meta, dict):
        raise ValueError(f"{METADATA_FILE} must hold an object")
    fmt = _FORMAT_OF_FILE[artifacts[0].name]
    return RepositoryEntry(name, int(version), fmt, artifacts[0].read_bytes(), meta)


def load_repository(root: Path, registry: ModelRegistry, limits: CheckLimits) -> LoadReport:
    """Register the repository's new versions (checked in one separate process) and aliases."""
    entries, problems = read_repository(root)
    report = LoadReport(refused=dict(problems))
    new = [entry for entry in entries if _is_new(entry, registry, report)]
    outcomes = check_artifacts([_check_request(entry) for entry in new], limits) if new else []
    for entry, outcome in zip(new, outcomes, strict=True):
        ref = f"{entry.name}@{entry.version}"
        if isinstance(outcome, CheckFailed):
            report.refused[ref] = outcome.msg
            continue
        registry.register(
            entry.name,
            entry.artifact,
            entry.format,
            outcome,
            shared=bool(entry.meta.get("shared", False)),
            trusted_types=list(entry.meta.get("trusted_types", [])),
            description=str(entry.meta.get("description", "")),
            version=entry.version,
        )
        for alias in entry.meta.get("aliases", []):
            registry.set_alias(entry.name, alias, entry.version)
        report.added.append(ref)
    for ref, reason in report.refused.items():
        log.warning("model repository %s: %s not registered: %s", root, ref, reason)
    return report


def _is_new(entry: RepositoryEntry, registry: ModelRegistry, report: LoadReport) -> bool:
    ref = f"{entry.name}@{entry.version}"
    try:
        registered = registry.get_version(entry.name, entry.version)
    except ModelNotFound:
        return True
    if registered.sha256 == hashlib.sha256(entry.artifact).hexdigest():
        report.unchanged.append(ref)
    else:
        report.refused[ref] = "differs from the registered version, which is kept"
    return False


def _check_request(entry: RepositoryEntry) -> CheckRequest:
    return CheckRequest(
        entry.artifact,
        entry.format,
        list(entry.meta.get("trusted_types", [])),
        list(entry.meta.get("feature_names", [])),
        dict(entry.meta.get("feature_types", {})),
        list(entry.meta.get("classes") or []) or None,
    )


def write_entry(
    root: Path, name: str, version: int, fmt: ArtifactFormat, artifact: bytes, meta: dict[str, Any]
) -> Path:
    """Write one version folder (artifact + model.json); what `git add` would then track."""
    folder = root / name / str(version)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"model.{EXTENSIONS[fmt]}").write_bytes(artifact)
    (folder / METADATA_FILE).write_bytes(orjson.dumps(meta, option=orjson.OPT_INDENT_2))
    return folder
