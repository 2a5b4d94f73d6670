"""The worker's model cache and the repository loader, on the shared stack's Redis and storage."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from inferq.storage import Storage
from models.checking import CheckLimits
from models.registry import ModelRegistry
from models.repository import load_repository, write_entry
from tests.model_fixtures import categorical_pipeline, constant_iris, skops_bytes
from tests.stack import ROOT, Stack
from workers.model_cache import ModelCache, estimate_size


@pytest.fixture
def registry(stack: Stack) -> ModelRegistry:
    """A registry on the shared stack's Redis and storage."""
    return ModelRegistry(stack.redis(), Storage(stack.settings.data_url))


def _register(registry: ModelRegistry, name: str, label: str) -> int:
    from models.schema import describe

    model = constant_iris(label)
    return registry.register(name, skops_bytes(model), "skops", describe(model)).version


def test_the_cache_loads_each_version_once_and_drops_the_least_recent(
    registry: ModelRegistry,
) -> None:
    """Repeated lookups hit memory; past the memory bound the least recently used goes."""
    name = f"cache-{uuid.uuid4().hex[:6]}"
    versions = [_register(registry, name, label) for label in ("setosa", "versicolor", "virginica")]
    one = ModelCache(registry, capacity=10)
    for _ in range(3):
        one.get(name, versions[0])
    assert one.stats.loads == 1 and one.stats.hits == 2
    size = one.get(name, versions[0]).size_bytes
    assert size > 0
    bounded = ModelCache(registry, capacity=10, max_bytes=int(size * 2.5))
    for version in versions:
        bounded.get(name, version)
    assert bounded.keys() == [(name, versions[1]), (name, versions[2])]
    assert bounded.stats.evictions == 1 and bounded.loaded_bytes <= size * 2.5
    counted = ModelCache(registry, capacity=2)
    for version in (versions[0], versions[1], versions[0], versions[2]):
        counted.get(name, version)
    assert counted.keys() == [(name, versions[0]), (name, versions[2])]


def test_estimate_size_counts_array_memory() -> None:
    """A 50-tree forest is estimated far bigger than a constant classifier."""
    from models.demo import train_iris

    small = estimate_size(constant_iris("setosa"))
    assert 0 < small * 10 < estimate_size(train_iris())


def test_a_repository_folder_registers_new_versions_once(
    registry: ModelRegistry, tmp_path: Path
) -> None:
    """Version folders register with their own numbers and aliases; reloading adds nothing; a
    broken version is refused and a changed one never replaces what is registered."""
    name = f"repo-{uuid.uuid4().hex[:6]}"
    write_entry(tmp_path, name, 1, "skops", skops_bytes(constant_iris("setosa")), {})
    write_entry(
        tmp_path, name, 3, "skops", skops_bytes(categorical_pipeline()), {"aliases": ["production"]}
    )
    write_entry(tmp_path, name, 4, "skops", b"broken", {})
    limits = CheckLimits(timeout_seconds=120, memory_mb=2048)
    report = load_repository(tmp_path, registry, limits)
    assert report.added == [f"{name}@1", f"{name}@3"] and f"{name}@4" in report.refused
    assert [v.version for v in registry.versions(name)] == [1, 3]
    assert registry.aliases(name) == {"production": 3}
    assert registry.resolve(name).version == 3
    write_entry(tmp_path, name, 1, "skops", skops_bytes(constant_iris("virginica")), {})
    again = load_repository(tmp_path, registry, limits)
    assert again.added == [] and again.unchanged == [f"{name}@3"]
    assert "differs" in again.refused[f"{name}@1"]
    from models.schema import describe

    model = constant_iris("setosa")
    assert registry.register(name, skops_bytes(model), "skops", describe(model)).version == 4


def test_the_cli_pushes_lists_and_moves_aliases(stack: Stack, tmp_path: Path) -> None:
    """`inferq models push|list|alias` talk to the API named by INFERQ_URL with INFERQ_API_KEY."""
    name = f"cli-{uuid.uuid4().hex[:6]}"
    artifact = tmp_path / "model.skops"
    artifact.write_bytes(skops_bytes(categorical_pipeline()))
    env = {
        **os.environ,
        "INFERQ_URL": stack.api_url,
        "INFERQ_API_KEY": stack.admin_key,
        "PYTHONPATH": str(ROOT),
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "inferq.cli", "models", *args]
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=180)

    pushed = cli("push", name, str(artifact), "--alias", "production")
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.strip() == f"{name}@1"
    assert cli("push", name, str(artifact)).stdout.strip() == f"{name}@2"
    assert cli("alias", name, "production", "2").returncode == 0
    listed = cli("list", name)
    assert "production=2" in listed.stdout and "plan:string" in listed.stdout
    refused = cli("push", name, str(tmp_path / "model.skops"), "--format", "pickle")
    assert refused.returncode == 1 and "error 422" in refused.stderr
    assert name in cli("list").stdout
