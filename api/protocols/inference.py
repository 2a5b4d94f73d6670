"""The one inference core under every synchronous protocol (issue 19).

An adapter hands `SyncInference.infer` the model reference, the outputs wanted and a parser
that turns the body into rows for the resolved version. The core does the rest, with the job
API's own parts: `api.admission.admitted` (body size, rate token), the registry's resolution
and tenant visibility, `inferq.json_rows.check_rows` (rows of a model that takes only numbers
then travel as one float64 matrix; the v2 adapter hands over an `[N, F]` tensor as one
already, checked by `check_matrix`), then one script that takes the rate token, checks the
reference still means that version and the tenant's rows per job and the queued-work limit,
and pushes the request on the batchers' priority lane (`inferq.jobs.sync`).
The answer comes back on the job watcher's channel; it is awaited at most
`sync_timeout_seconds` (504). A sync request writes no job record, input, event or status.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
import redis.asyncio as aioredis
from fastapi.concurrency import run_in_threadpool
from redis.commands.core import AsyncScript
from starlette.requests import Request

from api.admission import admitted
from api.deps import Principal, authenticate, bearer_key, in_scope
from api.errors import Problem
from api.reads.watch import JobWatcher
from inferq.config import Settings
from inferq.jobs.pending import DOORBELL, DOORBELL_LENGTH, PRIORITY_LANES, lane
from inferq.jobs.sync import ANSWERED, APART_BYTES, SyncRequest
from inferq.json_rows import MatrixRows, Rows, check_matrix, check_rows, checked_matrix
from inferq.limits import TOKEN_LUA, TenantLimits, overrides_key
from inferq.redis_multiplex import MultiplexedRedis, Script
from inferq.usage import keys as usage_keys
from inferq.usage.counting import USAGE_LUA, UsageMeter
from models.registry import (
    RESOLVE_LUA,
    ModelRegistry,
    ModelVersion,
    resolve_call,
    resolved,
    visible,
)
from models.routing import Route, route_async, route_from_reply

# KEYS: take_token's 2, resolve's 4, the tenant's limits, the 3 lanes, the request's lane, the
# doorbell, the tenants' row totals. ARGV: '1' to take the token, take_token's 2, resolve's 3,
# the expected route's signature, the rows, the default rows per job, the queued-work limit, the
# doorbell length, the lane entry, the request's usage entry (JSON, '' for none) and its TTL,
# added when the request is pushed.
_PUSH = (
    TOKEN_LUA
    + RESOLVE_LUA
    + USAGE_LUA
    + """
if ARGV[1] == '1' then
  local token = take_token(KEYS[1], KEYS[2], ARGV[2], ARGV[3])
  if token[1] > 0 then return {'rate', token[1], token[2], token[3]} end
end
local model = resolve(KEYS[3], KEYS[4], KEYS[5], KEYS[6], ARGV[4], ARGV[5], ARGV[6])
if model[1] ~= 'ok' then return model end
if model[3] .. '|' .. model[4] ~= ARGV[7] then return {'changed', model[2], model[4], model[5]} end
local max_rows = tonumber(redis.call('HGET', KEYS[7], 'max_rows_per_job')) or tonumber(ARGV[9])
if tonumber(ARGV[8]) > max_rows then return {'rows', ARGV[8], tostring(max_rows)} end
local queued = redis.call('LLEN', KEYS[8]) + redis.call('LLEN', KEYS[9])
  + redis.call('LLEN', KEYS[10])
if queued >= tonumber(ARGV[10]) then return {'queue', tostring(queued), ARGV[10]} end
redis.call('RPUSH', KEYS[11], ARGV[12])
redis.call('RPUSH', KEYS[12], '1')
redis.call('LTRIM', KEYS[12], -tonumber(ARGV[11]), -1)
usage_count(ARGV[13], ARGV[14], KEYS[13])
return {'queued'}
"""
)
_REMEMBERED_REFS = 1024
#: Times a request follows a model reference that moved before giving up (503).
_MODEL_CHANGES = 5
#: Rows kept apart outlive the request's deadline by this much (claims drop it after it).
_ROWS_MARGIN_SECONDS = 60.0
#: Bodies over this many bytes are parsed in a thread, not on the event loop.
_BIG_BODY = 256 * 1024

Parser = Callable[[bytes, ModelVersion], tuple[Rows | MatrixRows, tuple[str, ...]]]
"""Reads the request body for the resolved model version: its rows (a matrix when they are all
numbers and the adapter has them as one), and the outputs wanted (`prediction` and/or
`probabilities`); InputProblem when it cannot."""


@dataclass(frozen=True)
class SyncCall:
    """What an adapter asks of the core: which model, for which protocol."""

    protocol: str
    ref: str
    """`name`, `name@3` or `name@alias`."""


@dataclass
class Scored:
    """A request's answer: the version that scored it and its output columns' values."""

    model: ModelVersion
    columns: list[str]
    values: list[list[Any]]
    """One list per column (a matrix request's answer comes so from the batcher)."""

    @classmethod
    def from_table(cls, model: ModelVersion, table: dict[str, Any]) -> Scored:
        """The answer a batcher published: `{columns, data}` row by row, or `{columns,
        values}` column by column."""
        if "values" in table:
            return cls(model, table["columns"], table["values"])
        by_column = [list(column) for column in zip(*table["data"], strict=True)]
        return cls(model, table["columns"], by_column or [[] for _ in table["columns"]])

    @property
    def data(self) -> list[list[Any]]:
        """The output values row by row."""
        return [list(row) for row in zip(*self.values, strict=True)]

    @property
    def row_count(self) -> int:
        """How many rows were scored."""
        return len(self.values[0]) if self.values else 0

    def predictions(self) -> list[Any]:
        """The `prediction` of each row."""
        return self.values[self.columns.index("prediction")]

    def probabilities(self) -> list[list[float]]:
        """Each row's class probabilities, in the order of the model's classes."""
        positions = [i for i, name in enumerate(self.columns) if name.startswith("proba_")]
        return [list(row) for row in zip(*(self.values[i] for i in positions), strict=True)]


class SyncInference:
    """Admits, queues and awaits synchronous requests for the protocol adapters."""

    def __init__(
        self,
        settings: Settings,
        limits: TenantLimits,
        registry: ModelRegistry,
        watcher: JobWatcher,
        aclient: aioredis.Redis,
        multiplexed: MultiplexedRedis | None = None,
    ) -> None:
        self.settings = settings
        self.limits = limits
        self.registry = registry
        self.watcher = watcher
        self._push: Script | AsyncScript = aclient.register_script(_PUSH)
        self._execute: Callable[..., Awaitable[Any]] = aclient.execute_command
        if multiplexed is not None:
            self._push = Script(multiplexed, _PUSH)
            self._execute = multiplexed.execute
        self._routes: OrderedDict[str, Route] = OrderedDict()
        self.meter = UsageMeter.for_settings(settings)

    async def caller(self, request: Request, scope: str | None = None) -> Principal:
        """The caller named by the request's key (401), with `scope` if given (403). Without
        a scope (a metadata read) the request's rate token is taken here; an inference's is
        taken on admission."""
        key = bearer_key(request)
        principal = await authenticate(key, self.settings, request.app.state.keys)
        if scope is None:
            await self.limits.take_request_async(principal.tenant)
            return principal
        return in_scope(principal, scope)

    async def resolve(self, ref: str, tenant: str) -> ModelVersion:
        """The version `ref` means now for `tenant` (ModelNotFound: none it may see)."""
        return await self.registry.resolve_async(ref, tenant)

    async def route(self, ref: str, tenant: str) -> Route:
        """What `ref` means now for `tenant`: its version and the alias's canary split."""
        return await route_async(self.registry, ref, tenant)

    async def infer(
        self, request: Request, principal: Principal, call: SyncCall, parse: Parser
    ) -> Scored:
        """Score the request's rows through the batchers and return the answer."""
        deadline = time.time() + self.settings.sync_timeout_seconds
        request_id = os.urandom(12).hex()
        answer = self.watcher.expect_answer(request_id)  # before the push: answers come fast
        try:
            async with admitted(request, principal, self.settings.max_body_bytes) as admission:
                raw = await admission.read_body(request)
                ref, tenant = call.ref, principal.tenant
                route = self._routes.get(ref) or await self.route(ref, tenant)
                for _ in range(_MODEL_CHANGES):
                    # Each request resolves to one version: the canary's share by its id.
                    model = visible(route.choose(request_id).model, tenant)
                    rows, outputs = await self._rows(raw, model, parse)
                    carried = (
                        SyncRequest.matrix_bytes(rows.matrix)
                        if isinstance(rows, MatrixRows)
                        else orjson.dumps(rows.to_dict())
                    )
                    sync = SyncRequest(
                        id=request_id,
                        tenant=tenant,
                        protocol=call.protocol,
                        model_name=model.name,
                        model_version=model.version,
                        rows=carried,
                        apart=len(carried) > APART_BYTES,
                        rows_total=len(rows.data),
                        width=len(rows.columns) if isinstance(rows, MatrixRows) else 0,
                        deadline=deadline,
                        outputs=list(outputs),
                        priority=_priority(request),
                    )
                    changed = await self._queue(
                        sync, route, ref, admission.hand_over_token(), len(raw)
                    )
                    if changed is None:
                        break
                    route = changed  # the rows are checked again against the version it means
                else:
                    raise Problem(503, f"model {ref!r} kept changing; try again")
            self._remember(ref, route)
            return await self._answer(answer, deadline, model)
        finally:
            self.watcher.forget_answer(request_id)

    async def _rows(
        self, raw: bytes, model: ModelVersion, parse: Parser
    ) -> tuple[Rows | MatrixRows, tuple[str, ...]]:
        if len(raw) > _BIG_BODY:
            return await run_in_threadpool(_checked, raw, model, parse, self.settings)
        return _checked(raw, model, parse, self.settings)

    async def _queue(
        self, sync: SyncRequest, route: Route, ref: str, take_token: bool, bytes_in: int
    ) -> Route | None:
        """Push the request on its lane, counted in its tenant's usage with its body's
        `bytes_in`; the route `ref` means now if it moved (nothing pushed). Raises
        ModelNotFound or LimitExceeded."""
        usage = self.meter.entry(sync.tenant, sync.model_name, sync_requests=1, bytes_in=bytes_in)
        token = self.limits.token_call(sync.tenant)
        resolution = resolve_call(ref)
        lanes = [lane(priority) for priority in PRIORITY_LANES]
        if sync.apart:  # set before the push on the same connection: there when a batcher claims
            ttl_ms = int((self.settings.sync_timeout_seconds + _ROWS_MARGIN_SECONDS) * 1000)
            await self._execute("SET", sync.rows_key, sync.rows, "PX", ttl_ms)
        reply = await self._push(
            keys=[
                *token["keys"],
                *resolution["keys"],
                overrides_key(sync.tenant),
                *lanes,
                lane(sync.priority),
                DOORBELL,
                usage_keys.TENANT_ROWS,
            ],
            args=[
                "1" if take_token else "",
                *token["args"],
                *resolution["args"],
                route.signature(),
                sync.rows_total,
                self.settings.max_rows_per_job,
                self.settings.max_queued_jobs,
                DOORBELL_LENGTH,
                sync.entry(),
                orjson.dumps(usage) if usage is not None else "",
                self.meter.ttl_seconds,
            ],
        )
        kind = reply[0]
        if kind == b"queued":
            return None
        if sync.apart:
            await self._execute("UNLINK", sync.rows_key)
        if kind == b"rate":
            self.limits.check_token(sync.tenant, reply[1:])
        if kind == b"changed":
            changed = route_from_reply(ref, reply[1], reply[2], reply[3])
            self._remember(ref, changed)
            return changed
        if kind in (b"no_model", b"no_alias", b"no_version"):
            self._routes.pop(ref, None)
            resolved(ref, reply)  # raises ModelNotFound saying what is missing
        self.limits.check_admission(sync.tenant, reply)
        raise RuntimeError(f"unexpected answer of the sync request script: {reply!r}")

    def _remember(self, ref: str, route: Route) -> None:
        self._routes[ref] = route
        self._routes.move_to_end(ref)
        while len(self._routes) > _REMEMBERED_REFS:
            self._routes.popitem(last=False)

    async def _answer(
        self, answer: asyncio.Future[tuple[str, bytes]], deadline: float, model: ModelVersion
    ) -> Scored:
        try:
            async with asyncio.timeout(max(0.0, deadline - time.time())):
                status, payload = await answer
        except TimeoutError:
            seconds = self.settings.sync_timeout_seconds
            raise Problem(504, f"no answer within {seconds:g} s; try again") from None
        if status != ANSWERED:
            raise refusal(orjson.loads(payload))
        return Scored.from_table(model, orjson.loads(payload))


def refusal(error: dict[str, str]) -> Problem:
    """The answer to a request the batcher could not score (its rows made the model raise: 400;
    the model could not be loaded, or its rows were lost in Redis: 503)."""
    status = 503 if error.get("code") in ("model_unavailable", "input_missing") else 400
    return Problem(status, error.get("message", "the request could not be scored"))


def _checked(
    raw: bytes, model: ModelVersion, parse: Parser, settings: Settings
) -> tuple[Rows | MatrixRows, tuple[str, ...]]:
    rows, outputs = parse(raw, model)
    if len(rows.data) > settings.sync_max_rows:
        raise Problem(
            413,
            f"{len(rows.data)} rows are over the limit of {settings.sync_max_rows} per "
            "synchronous request; submit them as a job: POST /v1/jobs",
        )
    if isinstance(rows, MatrixRows):
        check_matrix(rows, model.schema, "inputs")
        return rows, outputs
    check_rows(rows, model.schema, [], "inputs")
    return checked_matrix(rows, model.schema) or rows, outputs


def _priority(request: Request) -> str:
    priority = request.headers.get("inferq-priority", "normal")
    if priority not in PRIORITY_LANES:
        raise Problem(400, f"Inferq-Priority must be one of {', '.join(PRIORITY_LANES)}")
    return priority
