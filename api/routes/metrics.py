"""`GET /metrics`: Prometheus text built from Redis at each scrape."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from api.deps import SettingsDep
from inferq.metrics.collector import RedisCollector
from inferq.queue import QUEUES, celery_config

router = APIRouter(tags=["health"])
_EXAMPLE = 'inferq_jobs{status="queued"} 3.0\ninferq_queue_depth{queue="inferq.jobs"} 3.0\n'


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"example": _EXAMPLE}}}},
)
async def metrics(request: Request, settings: SettingsDep) -> Response:
    """Jobs by status, rows, queue depth, backlog per worker, latencies and cache activity."""
    registry = getattr(request.app.state, "metrics_registry", None)
    if registry is None:
        steps = celery_config(settings)["broker_transport_options"]["priority_steps"]
        registry = CollectorRegistry(auto_describe=False)
        alive = 3 * settings.worker_heartbeat_seconds
        registry.register(RedisCollector(request.app.state.store.redis, QUEUES, steps, alive))
        request.app.state.metrics_registry = registry
    body = await run_in_threadpool(generate_latest, registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
