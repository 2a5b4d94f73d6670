"""Per-process worker state: Redis client, job store, registry and model cache."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from inferq.config import Settings, get_settings
from inferq.jobs.store import JobStore
from inferq.metrics.recorder import MetricsRecorder
from inferq.redis_client import make_redis
from inferq.storage import Storage
from inferq.usage.counting import UsageMeter
from models.registry import ModelRegistry
from workers.model_cache import CacheStats, ModelCache
from workers.monitoring import ServingMonitor


@dataclass
class WorkerContext:
    """Everything a task needs, built once per worker process."""

    settings: Settings
    store: JobStore
    registry: ModelRegistry
    storage: Storage
    models: ModelCache
    metrics: MetricsRecorder
    monitor: ServingMonitor
    """Counts scored rows against each version's reference profile."""
    cache_stats_sent: CacheStats = field(default_factory=CacheStats)
    """The model cache counts already added to the metrics."""
    usage: UsageMeter = field(default_factory=UsageMeter)
    """Builds the tenants' usage entries that end a batch or chunk."""

    @classmethod
    def build(cls, settings: Settings) -> WorkerContext:
        """Connect to Redis and storage with the given settings."""
        client = make_redis(settings)
        storage = Storage.from_settings(settings)
        registry = ModelRegistry(client, storage)
        return cls(
            settings=settings,
            store=JobStore.for_settings(client, settings),
            registry=registry,
            storage=storage,
            models=ModelCache(registry, settings.model_cache_size, settings.model_cache_max_bytes),
            metrics=MetricsRecorder(client),
            monitor=ServingMonitor(client, settings),
            usage=UsageMeter.for_settings(settings),
        )


_contexts: dict[int, WorkerContext] = {}


def current_context() -> WorkerContext:
    """This process's context; a forked child builds its own instead of sharing sockets."""
    pid = os.getpid()
    if pid not in _contexts:
        _contexts.clear()
        _contexts[pid] = WorkerContext.build(get_settings())
    return _contexts[pid]
