"""Reading the metrics from Redis at scrape time, as Prometheus metric families."""

from __future__ import annotations

import time
from collections.abc import Iterator

import redis
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector

from inferq.jobs.keys import WORKERS_ZSET
from inferq.jobs.pending import PRIORITY_LANES, lane
from inferq.metrics import keys
from inferq.monitoring import keys as monitoring_keys
from inferq.monitoring.gauges import drift_gauges
from inferq.queue import JOBS_QUEUE
from inferq.usage import keys as usage_keys

#: Counters recorded by workers: name -> help text (labels come from the stored fields).
COUNTER_HELP = {
    "rows_scored": "Rows scored by finished jobs.",
    "rows_failed": "Rows that could not be scored, in finished jobs.",
    "model_cache_hits": "Model lookups answered from a worker's memory.",
    "model_cache_misses": "Model lookups that had to load the model.",
    "model_cache_loads": "Model artifacts loaded from storage by workers.",
    "model_cache_evictions": "Models dropped from a worker's cache to make room.",
    "webhook_deliveries": "Webhook delivery attempts by outcome.",
    "sync_requests": "Synchronous protocol requests answered, by protocol and status code.",
    "version_rows_scored": "Rows scored, by model and version (a canary's rows apart).",
    "shadow_rows_scored": "Rows a shadow version scored, by model and version.",
    "shadow_rows_shed": "Rows of shadow work dropped under load, by model and version.",
}
HISTOGRAM_HELP = {
    "job_duration_seconds": "Seconds from a job's submission to its end.",
    "job_queue_wait_seconds": "Seconds a job waited in the queue before a worker started it.",
    "chunk_duration_seconds": "Seconds a worker spent scoring one chunk (a JSON job is one).",
    "batch_rows": "Rows per vectorized predict call.",
    "sync_request_duration_seconds": "Seconds from a synchronous request's arrival to its answer.",
}
ACTIVE_STATUSES = ("queued", "running", "cancelling")
ENDED_STATUSES = ("succeeded", "failed", "cancelled", "expired")
#: kombu's Redis transport keeps one list per priority step, named queue + sep + step.
PRIORITY_SEP = "\x06\x16"


def queue_lists(queue: str, priority_steps: list[int]) -> list[str]:
    """The Redis lists holding a queue's messages: step 0 under the plain name."""
    return [f"{queue}{PRIORITY_SEP}{step}" if step else queue for step in priority_steps]


class RedisCollector(Collector):
    """Builds every inferq metric from Redis on each scrape (a handful of commands)."""

    def __init__(
        self,
        client: redis.Redis,
        queues: tuple[str, ...],
        priority_steps: list[int],
        worker_alive_seconds: float,
    ) -> None:
        self.redis = client
        self.queues = queues
        self.priority_steps = priority_steps
        self.worker_alive_seconds = worker_alive_seconds

    def collect(self) -> Iterator[Metric]:
        """One scrape: read the hashes, list lengths and heartbeats in one pipeline."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(keys.JOB_STATUS)
        pipe.hgetall(keys.COUNTERS)
        for name in HISTOGRAM_HELP:
            pipe.hgetall(keys.histogram(name))
        for queue in self.queues:
            for name in queue_lists(queue, self.priority_steps):
                pipe.llen(name)
        for priority in PRIORITY_LANES:
            pipe.llen(lane(priority))
        pipe.hlen("unacked")
        pipe.zcount(WORKERS_ZSET, time.time() - self.worker_alive_seconds, "+inf")
        pipe.hgetall(monitoring_keys.PSI_GAUGES)
        pipe.hgetall(usage_keys.TENANT_ROWS)
        pipe.hgetall(keys.VERSION_LATENCY)
        replies = iter(pipe.execute())
        yield from _job_status(_decode(next(replies)))
        yield from _counters(_decode(next(replies)))
        for name, help_text in HISTOGRAM_HELP.items():
            yield _histogram(name, help_text, _decode(next(replies)))
        depth = {queue: sum(next(replies) for _ in self.priority_steps) for queue in self.queues}
        # Small jobs wait in the batchers' priority lanes, reported as part of the jobs queue.
        depth[JOBS_QUEUE] = depth.get(JOBS_QUEUE, 0) + sum(next(replies) for _ in PRIORITY_LANES)
        yield from _queues(depth, unacked=next(replies), workers=next(replies))
        yield from drift_gauges(_decode(next(replies)))
        yield _tenant_rows(_decode(next(replies)))
        yield _version_latency(_decode(next(replies)))


def _job_status(counts: dict[str, str]) -> Iterator[Metric]:
    current = GaugeMetricFamily(
        "inferq_jobs", "Jobs now in each unfinished status.", labels=["status"]
    )
    for status in ACTIVE_STATUSES:
        current.add_metric([status], max(0, int(counts.get(status, 0))))
    ended = CounterMetricFamily(
        "inferq_jobs_ended", "Jobs that ended, by final status.", labels=["status"]
    )
    for status in ENDED_STATUSES:
        ended.add_metric([status], max(0, int(counts.get(status, 0))))
    return iter([current, ended])


def _counters(fields: dict[str, str]) -> Iterator[Metric]:
    families: dict[str, CounterMetricFamily] = {}
    samples: dict[str, list[tuple[dict[str, str], int]]] = {n: [] for n in COUNTER_HELP}
    for field, value in fields.items():
        name, labels = keys.parse_counter_field(field)
        if name in samples:
            samples[name].append((labels, int(value)))
    for name, help_text in COUNTER_HELP.items():
        label_names = sorted({k for labels, _ in samples[name] for k in labels})
        family = CounterMetricFamily(f"inferq_{name}", help_text, labels=label_names)
        for labels, count in samples[name]:
            family.add_metric([labels.get(k, "") for k in label_names], count)
        if not samples[name] and not label_names:
            family.add_metric([], 0)
        families[name] = family
    return iter(families.values())


def _tenant_rows(rows: dict[str, str]) -> Metric:
    family = CounterMetricFamily(
        "inferq_tenant_rows", "Rows scored for each tenant (usage metering).", labels=["tenant"]
    )
    for tenant, count in sorted(rows.items()):
        family.add_metric([tenant], int(count))
    return family


def _histogram(name: str, help_text: str, fields: dict[str, str]) -> Metric:
    buckets, running = [], 0
    bounds: tuple[float | str, ...] = (*keys.BUCKETS[name], "+Inf")
    for bound in bounds:
        label = str(bound)
        running += int(fields.get(label, 0))
        buckets.append(("+Inf" if label == "+Inf" else _bound(bound), running))
    return HistogramMetricFamily(
        f"inferq_{name}", help_text, buckets=buckets, sum_value=float(fields.get("sum", 0))
    )


def _version_latency(fields: dict[str, str]) -> Metric:
    family = SummaryMetricFamily(
        "inferq_version_job_duration_seconds",
        "Seconds from a job's submission to its end, by model and version.",
        labels=["model", "version"],
    )
    for field, total in fields.items():
        model, version, kind = field.rsplit("|", 2)
        if kind == "count":
            seconds = float(fields.get(f"{model}|{version}|sum", 0))
            family.add_metric([model, version], count_value=int(total), sum_value=seconds)
    return family


def _queues(depth: dict[str, int], unacked: int, workers: int) -> Iterator[Metric]:
    queued = GaugeMetricFamily(
        "inferq_queue_depth", "Tasks waiting in each queue (all priorities).", labels=["queue"]
    )
    for queue, size in depth.items():
        queued.add_metric([queue], size)
    yield queued
    yield GaugeMetricFamily(
        "inferq_tasks_unacked", "Tasks taken by workers and not yet finished.", value=unacked
    )
    yield GaugeMetricFamily(
        "inferq_workers", "Workers whose heartbeat was seen recently.", value=workers
    )
    backlog = (sum(depth.values()) + unacked) / max(workers, 1)
    yield GaugeMetricFamily(
        "inferq_backlog_per_worker",
        "Waiting plus running tasks per live worker (scale out when it stays high).",
        value=backlog,
    )


def _bound(bound: float | str) -> str:
    return str(float(bound))


def _decode(raw: dict[bytes, bytes]) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in raw.items()}
