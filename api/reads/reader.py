"""Reading a job in one Redis round trip: the request's rate token and the job's record (and
scored rows, when asked) in one script, on the API's shared connection.

A poll used to take its token in one round trip and read the job in another (a third for the
rows). Polling is most of an application's requests, so each saved trip shows in jobs per
second (issue 16).
"""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

from inferq.jobs import keys
from inferq.jobs.record import JobRecord
from inferq.limits import LEASE_TOKENS, TOKEN_LUA, TenantLimits
from inferq.redis_multiplex import MultiplexedRedis, Script

# KEYS: take_token's 2, the job's hash, its result. ARGV: take_token's 2, the tokens to lease
# beyond the request's own ('' to take none), '1' to read the result. Answers {'rate', wait,
# rate, burst} without a token, else {'job', HGETALL, result or false, tokens leased}.
_READ = (
    TOKEN_LUA
    + """
local leased = 0
if ARGV[3] ~= '' then
  local token = take_token(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3])
  if token[1] > 0 then return {'rate', token[1], token[2], token[3]} end
  leased = token[4]
end
local result = false
if ARGV[4] == '1' then result = redis.call('GET', KEYS[4]) end
return {'job', redis.call('HGETALL', KEYS[3]), result, leased}
"""
)


class JobReader:
    """Reads jobs for the API's polls, on the `multiplexed` connection when there is one (else
    on the asyncio client's pool)."""

    def __init__(
        self,
        limits: TenantLimits,
        aclient: aioredis.Redis,
        multiplexed: MultiplexedRedis | None = None,
    ) -> None:
        self.limits = limits
        self._read: Script | AsyncScript = (
            Script(multiplexed, _READ)
            if multiplexed is not None
            else aclient.register_script(_READ)
        )

    async def read(
        self, tenant: str, job_id: str, with_result: bool, take_token: bool = True
    ) -> tuple[JobRecord | None, bytes | None]:
        """The job's record (None: no such job) and, if asked, its scored rows (None until a
        JSON job has them), after taking the tenant's request token unless told not to
        (LimitExceeded, 429, when there is none): from the process's lease while it holds
        more than half its size, else in the script, which refills the lease."""
        limits = self.limits
        token = limits.token_call(tenant)
        leasing = ""
        if take_token and not limits.leases.take(tenant, keep=LEASE_TOKENS // 2):
            leasing = str(limits.leases.wanted(tenant))
        reply = await self._read(
            keys=[*token["keys"], keys.job(job_id), keys.job_result(job_id)],
            args=[*token["args"], leasing, "1" if with_result else ""],
        )
        if reply[0] == b"rate":
            limits.check_token(tenant, reply[1:])  # raises: the script found no token
            raise RuntimeError(f"unexpected answer of the read script: {reply!r}")
        limits.leases.add(tenant, int(reply[3]))
        return JobRecord.from_flat(reply[1]), reply[2] or None
