"""Accepting a model only after a separate process loaded it and predicted a sample row."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from inferq.config import Settings
from inferq.schema import FeatureType, ModelSchema
from models.artifacts import ArtifactFormat

_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
#: Thread pools off in the check process: they reserve address space the memory cap counts.
_SINGLE_THREADED = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass
class CheckRequest:
    """One artifact to try, with what the uploader said about it."""

    artifact: bytes
    format: ArtifactFormat
    trusted_types: list[str] = field(default_factory=list)
    feature_names: list[str] = field(default_factory=list)
    feature_types: dict[str, FeatureType] = field(default_factory=dict)
    classes: list[Any] | None = None


class CheckFailed(ValueError):
    """The artifact did not load, has no usable schema, or could not predict a sample row."""

    def __init__(self, loc: str, msg: str) -> None:
        super().__init__(msg)
        self.loc = loc
        self.msg = msg


@dataclass(frozen=True)
class CheckLimits:
    """How long and how much memory the check process may use."""

    timeout_seconds: float = 120.0
    memory_mb: int = 4096

    @classmethod
    def from_settings(cls, settings: Settings) -> CheckLimits:
        """The limits the settings configure."""
        return cls(settings.model_check_timeout_seconds, settings.model_check_memory_mb)


def check_artifact(request: CheckRequest, limits: CheckLimits) -> ModelSchema:
    """The schema of a model that loaded and predicted in a separate process; else CheckFailed."""
    outcome = check_artifacts([request], limits)[0]
    if isinstance(outcome, CheckFailed):
        raise outcome
    return outcome


def check_artifacts(
    requests: list[CheckRequest], limits: CheckLimits
) -> list[ModelSchema | CheckFailed]:
    """Check several artifacts in one separate process (one interpreter start for all)."""
    with tempfile.TemporaryDirectory(prefix="inferq-check-") as tmp:
        folder = Path(tmp)
        (folder / "requests.json").write_bytes(orjson.dumps(_request_files(requests, folder)))
        failure = _run_child(folder, limits)
        if failure is not None:
            return [failure] * len(requests)
        results = orjson.loads((folder / "results.json").read_bytes())
    return [_outcome(result) for result in results]


def _request_files(requests: list[CheckRequest], folder: Path) -> list[dict[str, object]]:
    described: list[dict[str, object]] = []
    for i, request in enumerate(requests):
        path = folder / f"artifact-{i}"
        path.write_bytes(request.artifact)
        described.append(
            {
                "artifact": str(path),
                "format": request.format,
                "trusted_types": request.trusted_types,
                "feature_names": request.feature_names,
                "feature_types": request.feature_types,
                "classes": request.classes,
            }
        )
    return described


def _run_child(folder: Path, limits: CheckLimits) -> CheckFailed | None:
    """Run the check process; a CheckFailed when it crashed, timed out or wrote nothing."""
    argv = [sys.executable, "-m", "models.check_child", str(folder), str(limits.memory_mb)]
    try:
        done = subprocess.run(  # noqa: S603 - our own module, fixed arguments
            argv,
            env=_child_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=limits.timeout_seconds,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return CheckFailed("file", f"loading and predicting took over {limits.timeout_seconds}s")
    if done.returncode != 0 or not (folder / "results.json").exists():
        last = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        return CheckFailed(
            "file", f"the check process ended with code {done.returncode}: {last[0][:500]}"
        )
    return None


def _child_env() -> dict[str, str]:
    env = {**os.environ, **_SINGLE_THREADED}
    paths = [_PACKAGE_ROOT, *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


def _outcome(result: dict[str, object]) -> ModelSchema | CheckFailed:
    if result["ok"]:
        return ModelSchema.from_dict(result["schema"])  # type: ignore[arg-type]
    return CheckFailed(str(result["loc"]), str(result["error"]))
