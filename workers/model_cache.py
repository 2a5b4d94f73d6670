"""Loaded models kept per worker process, bounded by count and memory, least recently used out."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from models.formats import LoadOptions, load_model
from models.formats.base import estimate_size
from models.registry import ModelRegistry, ModelVersion
from workers.array_input import fast_input

__all__ = ["CacheStats", "LoadedModel", "ModelCache", "estimate_size"]


@dataclass
class LoadedModel:
    """A version's metadata with its model loaded and ready to predict, whatever its format."""

    meta: ModelVersion
    estimator: Any
    """What to call predict/predict_proba/contributions on: a `ModelRuntime` (or an
    `ArrayInput` around a scikit-learn one that scores the same on arrays)."""
    size_bytes: int = 0
    """Estimated memory the model holds (its runtime's `memory_bytes`)."""


@dataclass
class CacheStats:
    """Counters for metrics: lookups answered from memory, and loads from storage."""

    hits: int = 0
    misses: int = 0
    loads: int = 0
    evictions: int = 0


class ModelCache:
    """Keeps up to `capacity` models and `max_bytes` of them loaded; a version loads once."""

    def __init__(self, registry: ModelRegistry, capacity: int, max_bytes: int = 0) -> None:
        self.registry = registry
        self.capacity = max(1, capacity)
        self.max_bytes = max_bytes
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
            self._evict()
            return loaded

    @property
    def loaded_bytes(self) -> int:
        """Estimated memory of every model held now."""
        return sum(model.size_bytes for model in self._models.values())

    def keys(self) -> list[tuple[str, int]]:
        """(name, version) of the models held, least recently used first."""
        return list(self._models)

    def _evict(self) -> None:
        """Drop least recently used models until both bounds hold; the newest always stays."""
        while len(self._models) > 1 and (
            len(self._models) > self.capacity
            or (self.max_bytes > 0 and self.loaded_bytes > self.max_bytes)
        ):
            self._models.popitem(last=False)
            self.stats.evictions += 1

    def _load(self, name: str, version: int) -> LoadedModel:
        meta = self.registry.get_version(name, version)
        data = self.registry.read_artifact(meta)
        schema = meta.schema
        options = LoadOptions(meta.trusted_types, schema.feature_names, schema.classes)
        runtime = load_model(data, meta.format, options)
        self.stats.loads += 1
        return LoadedModel(meta, fast_input(runtime, schema), runtime.memory_bytes())

    def __len__(self) -> int:
        return len(self._models)
