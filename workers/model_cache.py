"""Loaded models kept per worker process, bounded by count and memory, least recently used out."""

from __future__ import annotations

import pickle
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from models.artifacts import load_artifact
from models.registry import ModelRegistry, ModelVersion
from workers.array_input import fast_input


@dataclass
class LoadedModel:
    """A version's metadata with its estimator rebuilt and ready to predict."""

    meta: ModelVersion
    estimator: Any
    """What to call predict/predict_proba on (the estimator, or an `ArrayInput` around it)."""
    size_bytes: int = 0
    """Estimated memory the estimator holds (see `estimate_size`)."""


@dataclass
class CacheStats:
    """Counters for metrics: lookups answered from memory, and loads from storage."""

    hits: int = 0
    misses: int = 0
    loads: int = 0
    evictions: int = 0


def estimate_size(estimator: Any) -> int:
    """Bytes an estimator holds: its pickled size, with numpy buffers counted but not copied."""
    buffers: list[int] = []

    def count(buffer: pickle.PickleBuffer) -> bool:
        buffers.append(buffer.raw().nbytes)
        return False  # keep it out of band: counted, never copied into the pickle

    try:
        inline = len(pickle.dumps(estimator, protocol=5, buffer_callback=count))
    except Exception:  # an estimator that cannot be pickled: count nothing rather than fail
        return 0
    return inline + sum(buffers)


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
        estimator = load_artifact(data, meta.format, meta.trusted_types)
        self.stats.loads += 1
        return LoadedModel(meta, fast_input(estimator, meta.schema), estimate_size(estimator))

    def __len__(self) -> int:
        return len(self._models)
