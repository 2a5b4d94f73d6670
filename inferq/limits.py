"""Per-tenant limits: request rate, rows per job and jobs in flight, counted in Redis.

Every tenant gets the limits in `Settings`; each tenant is counted on its own, so one team that
floods the service is slowed down without slowing anyone else.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import redis
import redis.asyncio as aioredis

from inferq.config import Settings
from inferq.jobs import keys
from inferq.jobs.pending import PRIORITY_LANES, lane
from inferq.jobs.record import TERMINAL_STATUSES
from inferq.redis_client import ScriptArgs

LIMIT_NAMES = (
    "max_rows_per_job",
    "max_jobs_in_flight",
    "rate_limit_per_second",
    "rate_limit_burst",
)
"""The limits a tenant can be given its own values of (their defaults are in `Settings`)."""

# Token bucket: `burst` tokens, refilled at `rate` per second on Redis' clock (one clock for
# every API process); the tenant's own rate and burst (`overrides`) replace the defaults. Answers
# 0 when a token was taken, else the milliseconds until one is due, with the rate and burst, and
# how many more tokens were leased to the caller's process: up to `extra` (at most 1% of a
# second's rate), only while the bucket stays over half full after them (`TokenLeases`). The JSON
# job submission and job read scripts share the function: they take their token in that call.
TOKEN_LUA = """
local function take_token(bucket, overrides, default_rate, default_burst, extra)
  local tuned = redis.call('HMGET', overrides, 'rate_limit_per_second', 'rate_limit_burst')
  local rate = tonumber(tuned[1]) or tonumber(default_rate)
  local burst = tonumber(tuned[2]) or tonumber(default_burst)
  local clock = redis.call('TIME')
  local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
  local state = redis.call('HMGET', bucket, 'tokens', 'at')
  local tokens = tonumber(state[1]) or burst
  local at = tonumber(state[2]) or now
  tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
  local wait = 0
  local leased = 0
  if tokens >= 1 then
    tokens = tokens - 1
    local lease = math.min(tonumber(extra) or 0, math.floor(rate / 100))
    if lease > 0 and tokens - lease >= burst / 2 then
      tokens = tokens - lease
      leased = lease
    end
  else
    wait = math.ceil((1 - tokens) / rate * 1000)
  end
  redis.call('HSET', bucket, 'tokens', tostring(tokens), 'at', tostring(now))
  redis.call('PEXPIRE', bucket, math.ceil(burst / rate * 1000) + 1000)
  return {wait, tostring(rate), tostring(burst), leased}
end
"""
_TAKE_TOKEN = TOKEN_LUA + "return take_token(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3])\n"

# Admits a job in one step (a function the JSON job submission script shares), answering why
# not: too many rows for the tenant ('rows'), too many small jobs queued overall ('queue', when
# args[7] > 0), or too many of the tenant's jobs unfinished ('inflight'); each limit is the
# tenant's own value (`overrides`) else the default.
# The in-flight set is normally kept exact by JobStore (added on create, removed by the terminal
# transition); at the limit it is first pruned of jobs that ended or vanished some other way
# (expired, deleted), so a lost update can never lock a tenant out. The job hashes read here are
# not declared in KEYS: inferq runs on one Redis, not a Cluster, and the ids are only known here.
ADMIT_LUA = """
local function admit(inflight, overrides, lanes, args)
  local own = redis.call('HMGET', overrides, 'max_rows_per_job', 'max_jobs_in_flight')
  local max_rows = tonumber(own[1]) or tonumber(args[6])
  if tonumber(args[5]) > max_rows then return {'rows', args[5], tostring(max_rows)} end
  if tonumber(args[7]) > 0 then
    local queued = 0
    for _, queue in ipairs(lanes) do queued = queued + redis.call('LLEN', queue) end
    if queued >= tonumber(args[7]) then return {'queue', tostring(queued), args[7]} end
  end
  local limit = tonumber(own[2]) or tonumber(args[1])
  if redis.call('SCARD', inflight) >= limit then
    for _, id in ipairs(redis.call('SMEMBERS', inflight)) do
      local status = redis.call('HGET', args[3] .. id, 'status')
      if not status or string.find(args[4], ',' .. status .. ',', 1, true) then
        redis.call('SREM', inflight, id)
      end
    end
    local count = redis.call('SCARD', inflight)
    if count >= limit then return {'inflight', tostring(count), tostring(limit)} end
  end
  redis.call('SADD', inflight, args[2])
  return {'ok', '', ''}
end
"""
_ADMIT_JOB = ADMIT_LUA + "return admit(KEYS[1], KEYS[2], {KEYS[3], KEYS[4], KEYS[5]}, ARGV)\n"


#: Tokens a process asks to lease at once, and how long it may spend them.
LEASE_TOKENS = 32
LEASE_SECONDS = 1.0


class TokenLeases:
    """Request tokens an API process took from its tenants' buckets ahead of their requests.

    A script that takes a request's token in Redis may take up to `LEASE_TOKENS` more for the
    process (`wanted`), which its next requests of that tenant spend without a round trip
    (`take`): most polls and submissions then leave the token bucket alone. The bucket stays
    the one truth: a leased token is gone from it, so a tenant is never let over its rate; a
    token not spent within `LEASE_SECONDS` is dropped, so it can at most go under it, by up
    to `LEASE_TOKENS` per process per `LEASE_SECONDS`. Redis only leases while the bucket stays
    over half full and at most 1% of a second's rate (none below 100 requests/s): a tenant near
    its limit, or with a low one, is counted exactly.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._held: dict[str, tuple[int, float]] = {}
        self._clock = clock

    def take(self, tenant: str, keep: int = 0) -> bool:
        """Spend one leased token of `tenant` (False: no more than `keep` left, or they ran
        out of time). A caller that takes its token in a script anyway keeps half for the
        requests that have none (polls), and refills the lease in that script."""
        count, until = self._held.get(tenant, (0, 0.0))
        if count <= keep or self._clock() > until:
            return False
        self._held[tenant] = (count - 1, until)
        return True

    def wanted(self, tenant: str) -> int:
        """How many tokens to ask Redis to lease along with a request's own: a refill once
        fewer than half are left, else none."""
        count, until = self._held.get(tenant, (0, 0.0))
        if count >= LEASE_TOKENS // 2 and self._clock() <= until:
            return 0
        return LEASE_TOKENS

    def add(self, tenant: str, leased: int) -> None:
        """Hold the tokens a script leased, for `LEASE_SECONDS` from now."""
        if leased <= 0:
            return
        now = self._clock()
        count, until = self._held.get(tenant, (0, 0.0))
        count = count if now <= until else 0
        self._held[tenant] = (count + leased, now + LEASE_SECONDS)


class LimitExceeded(Exception):
    """A tenant went over a limit: 413 (too big) or 429 (too many, come back after a while)."""

    def __init__(self, status: int, detail: str, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.retry_after = retry_after


class TenantLimits:
    """Checks a tenant's request against its limits and counts what it uses.

    Every tenant has the defaults from `Settings`; an admin may give one tenant its own values
    (`set_overrides`), which take effect on its next request.
    """

    def __init__(
        self, client: redis.Redis, settings: Settings, aclient: aioredis.Redis | None = None
    ) -> None:
        self.redis = client
        self.settings = settings
        self.leases = TokenLeases()
        self._take_token = client.register_script(_TAKE_TOKEN)
        self._admit_job = client.register_script(_ADMIT_JOB)
        if aclient is not None:  # the API's event loop checks requests without a thread hop
            self._take_token_async = aclient.register_script(_TAKE_TOKEN)

    def take_request(self, tenant: str) -> None:
        """Count one request; LimitExceeded (429) when the tenant is over its request rate."""
        self.check_token(tenant, self._take_token(**self.token_call(tenant)))

    async def take_request_async(self, tenant: str) -> None:
        """`take_request` on the async client, from the process's lease when it holds one
        (else the call refills it)."""
        if self.leases.take(tenant):
            return
        call = self.token_call(tenant)
        reply = await self._take_token_async(
            keys=call["keys"], args=[*call["args"], self.leases.wanted(tenant)]
        )
        self.check_token(tenant, reply)
        self.leases.add(tenant, int(reply[3]))

    def token_call(self, tenant: str) -> ScriptArgs:
        """The keys and arguments of `TOKEN_LUA`'s `take_token` for a tenant."""
        return {
            "keys": [f"{keys.PREFIX}:rate:{tenant}", _overrides_key(tenant)],
            "args": [self.settings.rate_limit_per_second, self.settings.rate_limit_burst],
        }

    @staticmethod
    def check_token(tenant: str, reply: list) -> None:
        """Raise LimitExceeded (429) for a `take_token` answer that found no token."""
        wait_ms, rate, burst = reply[:3]
        if int(wait_ms) > 0:
            raise LimitExceeded(
                429,
                f"tenant {tenant!r} is over {float(rate):g} requests per second "
                f"(burst {float(burst):g})",
                retry_after=max(1, math.ceil(int(wait_ms) / 1000)),
            )

    def admit_job(self, tenant: str, job_id: str, rows: int = 0, queue_limit: int = 0) -> None:
        """Count a new job in flight, checking first in the same step: its `rows` against the
        tenant's rows per job (413), the small jobs queued against `queue_limit` (429, when
        given) and the tenant's unfinished jobs against its limit (429)."""
        call = self.admission_call(tenant, job_id, rows, queue_limit)
        self.check_admission(tenant, self._admit_job(**call))

    def admission_call(self, tenant: str, job_id: str, rows: int, queue_limit: int) -> ScriptArgs:
        """The keys and arguments of `ADMIT_LUA`'s `admit` for one job."""
        terminal = "," + ",".join(sorted(TERMINAL_STATUSES)) + ","
        return {
            "keys": [
                keys.tenant_inflight(tenant),
                _overrides_key(tenant),
                *(lane(priority) for priority in PRIORITY_LANES),
            ],
            "args": [
                self.settings.max_jobs_in_flight,
                job_id,
                keys.job(""),
                terminal,
                rows,
                self.settings.max_rows_per_job,
                queue_limit,
            ],
        }

    def check_admission(self, tenant: str, reply: list) -> None:
        """Raise LimitExceeded for an `admit` answer that refuses the job."""
        kind, count, limit = reply[0], _whole(reply[1]), _whole(reply[2])
        if kind == b"rows":
            raise LimitExceeded(413, f"the job has {count} rows; the limit is {limit} per job")
        if kind == b"queue":
            raise LimitExceeded(
                429,
                f"more than {limit} jobs are waiting; try again shortly",
                retry_after=self.settings.retry_after_seconds,
            )
        if kind == b"inflight":
            raise LimitExceeded(
                429,
                f"tenant {tenant!r} has {count} unfinished jobs; the limit is {limit}",
                retry_after=self.settings.retry_after_seconds,
            )

    def effective(self, tenant: str) -> dict[str, float]:
        """The limits in force for a tenant: its own values over the defaults."""
        own = self.overrides(tenant)
        return {name: own.get(name, float(getattr(self.settings, name))) for name in LIMIT_NAMES}

    def overrides(self, tenant: str) -> dict[str, float]:
        """The values set for this tenant alone."""
        return {_text(k): float(v) for k, v in self.redis.hgetall(_overrides_key(tenant)).items()}

    def set_overrides(self, tenant: str, values: dict[str, float | None]) -> None:
        """Give a tenant its own limits; None goes back to the default."""
        pipe = self.redis.pipeline(transaction=True)
        for name, value in values.items():
            if name not in LIMIT_NAMES:
                raise ValueError(f"unknown limit {name!r}")
            if value is None:
                pipe.hdel(_overrides_key(tenant), name)
            else:
                pipe.hset(_overrides_key(tenant), name, repr(value))
        pipe.execute()

    def in_flight(self, tenant: str) -> int:
        """How many unfinished jobs the tenant has now."""
        return int(self.redis.scard(keys.tenant_inflight(tenant)))


def overrides_key(tenant: str) -> str:
    """The hash of a tenant's own limits (read by scripts that check them in Redis)."""
    return f"{keys.PREFIX}:limits:{tenant}"


_overrides_key = overrides_key


def _whole(value: bytes) -> int:
    """A number from a script's reply (limits may be stored as `5.0`)."""
    return int(float(value)) if value else 0


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
