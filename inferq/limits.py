"""Per-tenant limits: request rate, rows per job and jobs in flight, counted in Redis.

Every tenant gets the limits in `Settings`; each tenant is counted on its own, so one team that
floods the service is slowed down without slowing anyone else.
"""

from __future__ import annotations

import math

import redis

from inferq.config import Settings
from inferq.jobs import keys
from inferq.jobs.record import TERMINAL_STATUSES

# Token bucket: `burst` tokens, refilled at `rate` per second on Redis' clock (one clock for
# every API process). Answers 0 when a token was taken, else the milliseconds until one is due.
_TAKE_TOKEN = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) / rate * 1000) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return wait
"""

# Admits a job while the tenant has fewer than ARGV[1] unfinished jobs. The set is normally kept
# exact by JobStore (added on create, removed by the terminal transition); at the limit it is
# first pruned of jobs that ended or vanished some other way (expired, deleted), so a lost update
# can never lock a tenant out. The job hashes read here are not declared in KEYS: inferq runs on
# one Redis, not a Cluster, and the ids are only known inside the script.
_ADMIT_JOB = """
local limit = tonumber(ARGV[1])
if redis.call('SCARD', KEYS[1]) >= limit then
  for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
    local status = redis.call('HGET', ARGV[3] .. id, 'status')
    if not status or string.find(ARGV[4], ',' .. status .. ',', 1, true) then
      redis.call('SREM', KEYS[1], id)
    end
  end
  local count = redis.call('SCARD', KEYS[1])
  if count >= limit then return count end
end
redis.call('SADD', KEYS[1], ARGV[2])
return -1
"""


class LimitExceeded(Exception):
    """A tenant went over a limit: 413 (too big) or 429 (too many, come back after a while)."""

    def __init__(self, status: int, detail: str, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.retry_after = retry_after


class TenantLimits:
    """Checks a tenant's request against the limits and counts what it uses."""

    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self.redis = client
        self.settings = settings
        self._take_token = client.register_script(_TAKE_TOKEN)
        self._admit_job = client.register_script(_ADMIT_JOB)

    def take_request(self, tenant: str) -> None:
        """Count one request; LimitExceeded (429) when the tenant is over its request rate."""
        rate = self.settings.rate_limit_per_second
        burst = self.settings.rate_limit_burst
        wait_ms = int(self._take_token(keys=[f"{keys.PREFIX}:rate:{tenant}"], args=[rate, burst]))
        if wait_ms > 0:
            raise LimitExceeded(
                429,
                f"tenant {tenant!r} is over {rate:g} requests per second (burst {burst})",
                retry_after=max(1, math.ceil(wait_ms / 1000)),
            )

    def check_rows(self, rows: int) -> None:
        """LimitExceeded (413) when one job holds more rows than a tenant may send at once."""
        limit = self.settings.max_rows_per_job
        if rows > limit:
            raise LimitExceeded(413, f"the job has {rows} rows; the limit is {limit} per job")

    def admit_job(self, tenant: str, job_id: str) -> None:
        """Count a new job in flight; LimitExceeded (429) when the tenant has too many already."""
        limit = self.settings.max_jobs_in_flight
        terminal = "," + ",".join(sorted(TERMINAL_STATUSES)) + ","
        reply = self._admit_job(
            keys=[keys.tenant_inflight(tenant)],
            args=[limit, job_id, keys.job(""), terminal],
        )
        if int(reply) >= 0:
            raise LimitExceeded(
                429,
                f"tenant {tenant!r} has {reply} unfinished jobs; the limit is {limit}",
                retry_after=self.settings.retry_after_seconds,
            )

    def release_job(self, tenant: str, job_id: str) -> None:
        """Stop counting a job that was admitted but never stored or queued."""
        self.redis.srem(keys.tenant_inflight(tenant), job_id)
