"""The workers' periodic drift check: PSI gauges for /metrics, and drift alerts.

Every `monitoring_check_seconds` one worker process (whichever takes the lock) computes each
monitored version's report over the last hour for the Prometheus gauges, and over each model's
alert window for its threshold; a crossing sends one `model.drift` webhook per window.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any

from inferq.monitoring import keys
from inferq.monitoring.alerts import (
    MonitoringConfig,
    MonitoringConfigs,
    drift_body,
    first_alert_in_window,
    queue_drift_webhook,
)
from inferq.monitoring.reference import PREDICTION
from inferq.monitoring.report import WINDOWS, monitoring_report
from inferq.redis_client import REDIS_UNAVAILABLE
from models.registry import ModelVersion
from workers.context import WorkerContext

log = logging.getLogger(__name__)
GAUGE_WINDOW = "1h"
"""The window the Prometheus PSI gauges cover."""


class DriftCheck:
    """Runs the check when due; one per worker process, one run per period in the cluster."""

    def __init__(self, ctx: WorkerContext) -> None:
        self.ctx = ctx
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self._next = 0.0

    def run_if_due(self) -> None:
        """Check when this process's period has passed and no other process checked meanwhile."""
        settings = self.ctx.settings
        self.ctx.monitor.send_provisional()  # rows held for a provisional sample, when due
        self.ctx.monitor.send(self.ctx.monitor.flush_write())  # counts held while idle
        now = time.monotonic()
        if not settings.monitoring or now < self._next:
            return
        self._next = now + settings.monitoring_check_seconds
        lock_ms = max(1, int(settings.monitoring_check_seconds * 900))
        if self.ctx.store.redis.set(keys.CHECK_LOCK, self.owner, nx=True, px=lock_ms):
            try:
                self.run()
            except REDIS_UNAVAILABLE:
                raise
            except Exception:  # a bad report must not stop the batcher that runs the check
                log.exception("drift check failed")

    def run(self) -> None:
        """Refresh every gauge and check every alert once."""
        configs = MonitoringConfigs(self.ctx.store.redis).all()
        gauges: dict[str, float] = {}
        for name in self.ctx.registry.names():
            for meta in self.ctx.registry.versions(name):
                if self.ctx.store.redis.exists(keys.reference(name, meta.version)):
                    gauges.update(self._check_version(meta, configs.get(name)))
        pipe = self.ctx.store.redis.pipeline(transaction=True)
        pipe.delete(keys.PSI_GAUGES)
        for field, value in gauges.items():
            pipe.hset(keys.PSI_GAUGES, field, value)
        pipe.execute()

    def _check_version(
        self, meta: ModelVersion, config: MonitoringConfig | None
    ) -> dict[str, float]:
        client = self.ctx.store.redis
        report = monitoring_report(client, meta.schema, meta.name, meta.version, GAUGE_WINDOW)
        if config is not None and config.webhook is not None:
            alerting = report
            if config.window != GAUGE_WINDOW:
                alerting = monitoring_report(
                    client, meta.schema, meta.name, meta.version, config.window
                )
            self._alert_if_drifting(meta, config, alerting)
        return _gauges(meta, report)

    def _alert_if_drifting(
        self, meta: ModelVersion, config: MonitoringConfig, report: dict[str, Any]
    ) -> None:
        if report["rows"] < config.min_rows or not _drifting(report, config.psi_threshold):
            return
        client, window = self.ctx.store.redis, config.window
        if first_alert_in_window(client, meta.name, meta.version, window, WINDOWS[window]):
            body = drift_body(meta.name, meta.version, window, report, config)
            key = queue_drift_webhook(client, config, body, self.ctx.settings.retention_seconds)
            log.info("model %s@%s drifts: webhook %s", meta.name, meta.version, key)


def _drifting(report: dict[str, Any], threshold: float) -> bool:
    values = [part["psi"] for part in report["features"].values()]
    values.append(report["prediction"]["psi"])
    return any(value is not None and value > threshold for value in values)


def _gauges(meta: ModelVersion, report: dict[str, Any]) -> dict[str, float]:
    parts = {**report["features"], PREDICTION: report["prediction"]}
    return {
        f"{meta.name}|{meta.version}|{feature}": part["psi"]
        for feature, part in parts.items()
        if part["psi"] is not None
    }
