"""Liveness and readiness."""

from __future__ import annotations

import time

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.deps import SettingsDep, StorageDep, StoreDep
from api.errors import PROBLEM_JSON, problem_response
from inferq.jobs.keys import WORKERS_ZSET
from inferq.redis_client import REDIS_UNAVAILABLE

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The API process is up")
def healthz() -> dict[str, str]:
    """Always ok while the process serves requests."""
    return {"status": "ok"}


_READINESS = {
    "type": "object",
    "properties": {
        "ready": {"type": "boolean"},
        "redis": {"type": "boolean"},
        "workers": {"type": "integer"},
        "encryption": {"type": "boolean", "description": "Stored objects decrypt with the keys"},
    },
    "required": ["ready", "redis", "workers"],
}


@router.get(
    "/readyz",
    summary="Redis is reachable and at least one worker is alive",
    responses={
        200: {"description": "Ready", "content": {"application/json": {"schema": _READINESS}}},
        503: {
            "description": "Not ready: a problem saying what is missing",
            "content": {
                PROBLEM_JSON: {
                    "schema": {
                        "allOf": [{"$ref": "#/components/schemas/ProblemDetails"}, _READINESS]
                    }
                }
            },
        },
    },
)
async def readyz(store: StoreDep, storage: StorageDep, settings: SettingsDep) -> JSONResponse:
    """200 when jobs can be accepted and scored, else a 503 problem saying what is missing."""
    window = 3 * settings.worker_heartbeat_seconds

    def probe() -> tuple[bool, int]:
        try:
            store.redis.ping()
            alive = store.redis.zcount(WORKERS_ZSET, time.time() - window, "+inf")
        except REDIS_UNAVAILABLE:
            return False, 0
        return True, int(alive)

    redis_ok, workers = await run_in_threadpool(probe)
    key_problem = await run_in_threadpool(storage.key_problem)
    ready = redis_ok and workers > 0 and key_problem is None
    body = {"ready": ready, "redis": redis_ok, "workers": workers, "encryption": not key_problem}
    if body["ready"]:
        return JSONResponse(body)
    retry = {"Retry-After": str(settings.retry_after_seconds)}
    missing = "no worker has announced itself" if redis_ok else "Redis is unreachable"
    missing = key_problem or missing
    # The readiness fields ride along as problem extension members.
    return problem_response(503, "Not ready", missing, headers=retry, extensions=body)
