"""Builds the FastAPI app: `uvicorn api.main:app`."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.errors import declare_body_problems, install_error_handlers
from api.lane import JobLane
from api.protocols.inference import SyncInference
from api.protocols.lane import ProtocolLane
from api.protocols.tally import SyncTally
from api.reads.reader import JobReader
from api.reads.watch import JobWatcher
from api.routes import (
    health,
    jobs,
    keys,
    metrics,
    mlflow,
    models,
    monitoring,
    rollouts,
    tenants,
    tfserving,
    usage,
    v2,
    webhooks,
)
from api.routes.dashboard import mount_dashboard
from api.routes.openapi_examples import add_examples
from api.schemas import JobCreate, ProblemDetails
from api.submit.durable import Durability
from api.submit.submitter import JobSubmitter
from inferq.api_keys import KeyStore
from inferq.config import Settings, get_settings
from inferq.jobs.store import JobStore
from inferq.limits import TenantLimits
from inferq.logs import configure_logging
from inferq.redis_client import make_async_redis, make_multiplexed_redis, make_redis
from inferq.storage import Storage
from inferq.usage.counting import UsageMeter
from inferq.usage.tally import UsageTally
from models.registry import ModelRegistry


def create_app(settings: Settings | None = None) -> FastAPI:
    """The inferq API for the given settings (default: from the environment)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = make_redis(settings)
        # Two async clients: one for the request path, with the same timeout as every Redis
        # call, and one for the pub/sub subscription and SSE streams, whose reads block by design.
        requests_client = make_async_redis(settings)
        app.state.store = JobStore.for_settings(client, settings, requests_client)
        app.state.storage = Storage.from_settings(settings)
        app.state.registry = ModelRegistry(client, app.state.storage, requests_client)
        app.state.keys = KeyStore(client, requests_client)
        app.state.limits = TenantLimits(client, settings, requests_client)
        multiplexed = make_multiplexed_redis(settings)
        # Job creations WAIT for replicas on a connection of their own: a WAIT holds back the
        # commands behind it, which must not be the polls'.
        creating = make_multiplexed_redis(settings) if settings.redis_min_replicas else None
        app.state.durability = Durability(settings, requests_client, creating)
        app.state.submitter = JobSubmitter(
            app.state.store, app.state.limits, requests_client, creating or multiplexed,
            UsageMeter.for_settings(settings), app.state.durability,
        )  # fmt: skip
        app.state.reader = JobReader(app.state.limits, requests_client, multiplexed)
        app.state.aredis = make_async_redis(settings, blocking_reads=True)
        app.state.watcher = JobWatcher(app.state.aredis, multiplexed)
        app.state.watcher.start()
        app.state.sync = SyncInference(
            settings, app.state.limits, app.state.registry, app.state.watcher,
            requests_client, multiplexed,
        )  # fmt: skip
        app.state.sync_tally = SyncTally(requests_client)
        app.state.sync_tally.start()
        app.state.usage_tally = UsageTally(requests_client, UsageMeter.for_settings(settings))
        app.state.usage_tally.start()
        # The imports' objects live as long as the process: kept out of the collector's full
        # passes, which the row lists of big synchronous requests set off (issue 19).
        gc.freeze()
        yield
        await app.state.sync_tally.stop()
        await app.state.usage_tally.stop()
        await app.state.watcher.stop()
        await app.state.aredis.aclose()
        await requests_client.aclose()
        for connection in (multiplexed, creating):
            if connection is not None:
                await connection.aclose()
        client.close()

    app = FastAPI(
        title="inferq",
        version="0.1.0",
        summary="Queue-based asynchronous batch inference for scikit-learn models",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    for module in (
        jobs,
        models,
        rollouts,
        monitoring,
        keys,
        tenants,
        usage,
        health,
        webhooks,
        metrics,
        v2,
        tfserving,
        mlflow,
    ):
        app.include_router(module.router)
    _declare_schema(app, JobCreate)
    _declare_schema(app, ProblemDetails)
    declare_body_problems(app)
    _add_examples(app)
    mount_dashboard(app, settings)
    app.add_middleware(JobLane)
    app.add_middleware(ProtocolLane)
    return app


def _declare_schema(app: FastAPI, model: type) -> None:
    """Publish a body model that a route reads by hand (to bound its size) in /openapi.json."""
    original = app.openapi

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        defs = model.model_json_schema(ref_template="#/components/schemas/{model}")  # type: ignore[attr-defined]
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(defs.pop("$defs", {}))
        components[model.__name__] = defs
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_examples(app: FastAPI) -> None:
    """Add the examples once every route's answers are declared; build the document once."""
    original = app.openapi
    built: dict[str, dict] = {}

    def openapi() -> dict:
        if "schema" not in built:
            built["schema"] = add_examples(original())
        return built["schema"]

    app.openapi = openapi  # type: ignore[method-assign]


configure_logging(get_settings().log_format, get_settings().log_level)
if not get_settings().access_log:  # however uvicorn was started (compose, by hand)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
app = create_app()
