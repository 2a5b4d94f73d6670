"""Per-model drift alert settings, and the signed `model.drift` webhook they send.

A drift alert goes through the jobs' webhook machinery: a delivery keyed `drift_<ulid>` is
stored and marked due, and the webhook workers send, retry and log it as they do a job's.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import orjson
import redis

from inferq.ids import ulid
from inferq.jobs import keys as job_keys
from inferq.monitoring import keys
from inferq.redis_client import decoded
from inferq.timefmt import now_rfc3339
from inferq.webhooks.deliveries import Delivery, now_ms

DRIFT_EVENT = "model.drift"


@dataclass
class MonitoringConfig:
    """When a model's drift alerts fire, and where they go."""

    tenant: str
    """The model owner's tenant: its webhook secret signs the alerts."""
    psi_threshold: float = 0.2
    min_rows: int = 1000
    window: str = "1h"
    webhook: dict[str, Any] | None = None


class MonitoringConfigs:
    """The alert settings of every model, in one Redis hash."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def put(self, name: str, config: MonitoringConfig) -> None:
        """Set a model's alert settings (replacing any)."""
        self.redis.hset(keys.CONFIG, name, orjson.dumps(asdict(config)))

    def get(self, name: str) -> MonitoringConfig | None:
        """A model's alert settings, or None when unset."""
        raw = self.redis.hget(keys.CONFIG, name)
        return MonitoringConfig(**orjson.loads(raw)) if raw else None

    def all(self) -> dict[str, MonitoringConfig]:
        """Every model's alert settings."""
        raw = self.redis.hgetall(keys.CONFIG)
        return {decoded(k): MonitoringConfig(**orjson.loads(v)) for k, v in raw.items()}


def drift_body(
    name: str, version: int, window: str, report: dict[str, Any], config: MonitoringConfig
) -> bytes:
    """The webhook body: the version, the window and each PSI over the threshold."""
    over = {
        feature: part["psi"]
        for feature, part in report["features"].items()
        if part["psi"] is not None and part["psi"] > config.psi_threshold
    }
    prediction = report["prediction"]["psi"]
    data = {
        "model": {"name": name, "version": version},
        "window": window,
        "rows": report["rows"],
        "psi_threshold": config.psi_threshold,
        "features": over,
        "prediction_psi": prediction,
    }
    return orjson.dumps({"type": DRIFT_EVENT, "timestamp": now_rfc3339(), "data": data})


def queue_drift_webhook(
    client: redis.Redis, config: MonitoringConfig, body: bytes, keep_seconds: int
) -> str:
    """Store a drift delivery and mark it due now; returns its key (`drift_<ulid>`)."""
    assert config.webhook is not None
    key = f"drift_{ulid()}"
    delivery = Delivery(
        id=f"msg_{key}",
        job_id=key,
        tenant=config.tenant,
        event=DRIFT_EVENT,
        url=config.webhook["url"],
        created_at=now_rfc3339(),
        body=body.decode(),
    )
    pipe = client.pipeline(transaction=True)
    pipe.hset(job_keys.job_webhook(key), mapping={k: str(v) for k, v in asdict(delivery).items()})
    pipe.expire(job_keys.job_webhook(key), keep_seconds)
    pipe.zadd(job_keys.WEBHOOKS_DUE, {key: now_ms()})
    pipe.execute()
    return key


def first_alert_in_window(
    client: redis.Redis, name: str, version: int, window: str, seconds: int
) -> bool:
    """True once per window: the caller may send this version's drift alert now."""
    start = int(time.time() // seconds) * seconds
    return bool(client.set(keys.alerted(name, version, window, start), 1, nx=True, ex=seconds))
