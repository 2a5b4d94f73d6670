"""Loaded models kept per worker process, least recently used out."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from models.artifacts import load_artifact
from models.registry import ModelRegistry, ModelVersion


@dataclass
class LoadedModel:
    """A version's metadata with its estimator rebuilt and ready to predict."""

    meta: ModelVersion
    estimator: Any


@dataclass
class CacheStats:
    """Counters for metrics: lookups answered from memory, and loads from storage."""

    hits: int = 0
    misses: int = 0
    loads: int = 0
    evictions: int = 0


class ModelCache:
    """Keeps up to `capacity` models loaded; each version is loaded once per process."""

    def __init__(self, registry: ModelRegistry, capacity: int) -> None:
        self.registry = registry
        self.capacity = max(1, capacity)
        self.stats = CacheStats()
        self._models: OrderedDict[tuple[str, int], LoadedModel] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, name: str, version: int) -> LoadedModel:
        """The loaded model for an exact version, loading it on first use."""
        key = (name, version)
        with self._lock:
            if key in self._models:
                self.stats.hits += 1
                self._models.move_to_end(key)
                return self._models[key]
            self.stats.misses += 1
            loaded = self._load(name, version)
            self._models[key] = loaded
            while len(self._models) > self.capacity:
                self._models.popitem(last=False)
                self.stats.evictions += 1
            return loaded

    def _load(self, name: str, version: int) -> LoadedModel:
        meta = self.registry.get_version(name, version)
        data = self.registry.read_artifact(meta)
        estimator = load_artifact(data, meta.format, meta.trusted_types)
        self.stats.loads += 1
        return LoadedModel(meta, estimator)

    def __len__(self) -> int:
        return len(self._models)
