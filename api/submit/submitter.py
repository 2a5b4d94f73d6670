"""Submitting a JSON job in one Redis round trip: rate token, resolve, admit, create.

The API checks a job's rows against a model version before it stores the job. Taking the
request's rate token, resolving the model reference, admitting the job under the tenant's limits
and creating it each used to be a round trip of their own. Here they are one script: it
resolves the reference again and stores the job only if it still means the version the rows
were checked against (else it answers ModelChanged with the version it means now, and the
caller checks the rows again). So the API may keep the version a reference resolved to last
time and skip the separate resolution.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

from api.submit.durable import Durability
from inferq.jobs.idempotency import IdempotencyMark, IdempotencyTaken
from inferq.jobs.record import JobRecord
from inferq.jobs.store import JobStore
from inferq.jobs.store_scripts import CREATE_LUA
from inferq.limits import ADMIT_LUA, LEASE_TOKENS, TOKEN_LUA, TenantLimits
from inferq.redis_multiplex import MultiplexedRedis, NotReplicated, Script
from inferq.usage import keys as usage_keys
from inferq.usage.counting import USAGE_LUA, UsageMeter
from models.registry import RESOLVE_LUA, resolve_call, resolved
from models.routing import Route, route_from_reply

# KEYS: take_token's 2, resolve's 4, admit's 5, the tenants' row totals, then create's. ARGV:
# the tokens to lease beyond the request's own ('' to take none: the caller holds it), take_token's
# 2, resolve's 3, the expected route's signature (version|split), admit's 7, the job's usage
# entry (JSON, '' for none) and its TTL, then create's. The usage is added only when the job is
# created. Answers {'rate', wait, rate, burst}, resolve's refusal, {'changed', record, split,
# canary record}, admit's refusal, or {'created', create's answer, tokens leased}.
_SUBMIT = (
    TOKEN_LUA
    + RESOLVE_LUA
    + ADMIT_LUA
    + CREATE_LUA
    + USAGE_LUA
    + """
local leased = 0
if ARGV[1] ~= '' then
  local token = take_token(KEYS[1], KEYS[2], ARGV[2], ARGV[3], ARGV[1])
  if token[1] > 0 then return {'rate', token[1], token[2], token[3]} end
  leased = token[4]
end
local model = resolve(KEYS[3], KEYS[4], KEYS[5], KEYS[6], ARGV[4], ARGV[5], ARGV[6])
if model[1] ~= 'ok' then return model end
if model[3] .. '|' .. model[4] ~= ARGV[7] then return {'changed', model[2], model[4], model[5]} end
local admitted = admit(KEYS[7], KEYS[8], {KEYS[9], KEYS[10], KEYS[11]}, {unpack(ARGV, 8, 14)})
if admitted[1] ~= 'ok' then return admitted end
local created = create({unpack(KEYS, 13)}, {unpack(ARGV, 17)})
if created == 1 then usage_count(ARGV[15], ARGV[16], KEYS[12]) end
return {'created', created, leased}
"""
)
_REMEMBERED_REFS = 1024


class ModelChanged(Exception):
    """The model reference now means another route (version or split) than the job's."""

    def __init__(self, route: Route) -> None:
        version = route.primary
        super().__init__(f"{version.name} now resolves to version {version.version}")
        self.route = route


class JobSubmitter:
    """Stores and queues JSON jobs for the API, one round trip each, on the `multiplexed`
    connection when there is one (else on the asyncio client's pool); with `durability`,
    a job is created only once its replicas hold it (NotReplicated otherwise)."""

    def __init__(
        self,
        store: JobStore,
        limits: TenantLimits,
        aclient: aioredis.Redis,
        multiplexed: MultiplexedRedis | None = None,
        meter: UsageMeter | None = None,
        durability: Durability | None = None,
    ) -> None:
        self.store = store
        self.limits = limits
        self.meter = meter or UsageMeter()
        self.durability = durability
        self._submit: Script | AsyncScript = (
            Script(multiplexed, _SUBMIT)
            if multiplexed is not None
            else aclient.register_script(_SUBMIT)
        )
        self._routes: OrderedDict[str, Route] = OrderedDict()

    def last_route(self, ref: str) -> Route | None:
        """The route `ref` meant at its last submission here (None: not seen lately)."""
        return self._routes.get(ref)

    async def submit(
        self,
        record: JobRecord,
        ref: str,
        route: Route,
        inline_input: bytes,
        *,
        queue_limit: int,
        enqueue: bool,
        idempotency: IdempotencyMark | None = None,
        take_token: bool = False,
        bytes_in: int = 0,
    ) -> None:
        """Store and queue `record`, built for a version `route` chose, if the tenant's limits
        admit it and `ref` still means that route; first take the tenant's request token if
        asked (from the process's lease while it holds more than half its size, else in the
        script, which refills the lease). A job stored counts as one, with its body's
        `bytes_in`, in the tenant's usage.

        Raises ModelNotFound, ModelChanged, LimitExceeded or IdempotencyTaken (nothing stored).
        """
        tenant = record.tenant
        token = self.limits.token_call(tenant)
        leasing = ""
        leases = self.limits.leases
        if take_token and not leases.take(tenant, keep=LEASE_TOKENS // 2):
            leasing = str(leases.wanted(tenant))
        resolution = resolve_call(ref)
        admission = self.limits.admission_call(
            tenant, record.id, record.rows_total or 0, queue_limit
        )
        creation = self.store.create_call(record, inline_input, enqueue, idempotency)
        usage = self.meter.entry(tenant, record.model_name, jobs=1, bytes_in=bytes_in)
        reply = await self._replicated(
            keys=[
                *token["keys"],
                *resolution["keys"],
                *admission["keys"],
                usage_keys.TENANT_ROWS,
                *creation["keys"],
            ],
            args=[
                leasing,
                *token["args"],
                *resolution["args"],
                route.signature(),
                *admission["args"],
                orjson.dumps(usage) if usage is not None else "",
                self.meter.ttl_seconds,
                *creation["args"],
            ],
        )
        kind = reply[0]
        if kind == b"rate":
            self.limits.check_token(tenant, reply[1:])
        if kind == b"changed":
            changed = route_from_reply(ref, reply[1], reply[2], reply[3])
            self._remember(ref, changed)
            raise ModelChanged(changed)
        if kind in (b"no_model", b"no_alias", b"no_version"):
            self._routes.pop(ref, None)
            resolved(ref, reply)  # raises ModelNotFound saying what is missing
        self._remember(ref, route)
        if kind != b"created":
            self.limits.check_admission(tenant, reply)
            raise RuntimeError(f"unexpected answer of the submission script: {reply!r}")
        self.limits.leases.add(tenant, int(reply[2]))
        if not reply[1]:
            raise IdempotencyTaken

    async def _replicated(self, keys: list[Any], args: list[Any]) -> Any:
        """The submission script's reply, once the replicas hold the job it created."""
        durability = self.durability
        if durability is None or not durability.replicas:
            return await self._submit(keys=keys, args=args)
        if isinstance(self._submit, Script):
            try:
                return await self._submit(keys, args, durability.replicas, durability.timeout_ms)
            except NotReplicated as exc:
                if _created(exc.reply):
                    raise
                return exc.reply  # nothing was created: the refusal is the answer
        reply = await self._submit(keys=keys, args=args)
        if _created(reply):
            await durability.confirm()
        return reply

    def _remember(self, ref: str, route: Route) -> None:
        self._routes[ref] = route
        self._routes.move_to_end(ref)
        while len(self._routes) > _REMEMBERED_REFS:
            self._routes.popitem(last=False)


def _created(reply: Any) -> bool:
    """Whether the submission script's reply says it created a job (None: not known)."""
    return reply is None or (reply[0] == b"created" and bool(reply[1]))
