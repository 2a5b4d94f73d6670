"""The queue of small JSON jobs in Redis: priority lanes, atomic claims and leases.

Small jobs skip Celery's per-task overhead: the API pushes their ids onto a lane per priority and
rings a doorbell; batchers inside worker processes claim many at once, atomically, and hold a
lease on each until it ends. A job whose lease runs out (its worker died) goes back to its lane.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import redis

from inferq.jobs import keys, sync
from inferq.jobs.record import JobRecord
from inferq.metrics import keys as metric_keys
from inferq.redis_client import ScriptCall, Write, pipelined

PRIORITY_LANES = ("high", "normal", "low")
LEASES = f"{keys.PREFIX}:leases"
DOORBELL = f"{keys.PREFIX}:doorbell"


def lane(priority: str) -> str:
    """The Redis list of queued job ids of one priority."""
    return f"{keys.PREFIX}:pending:{priority}"


#: Most doorbell rings kept: enough to wake every batcher, never a list that grows.
DOORBELL_LENGTH = 64

# A job that ends here leaves its tenant's jobs in flight and the deadlines, as JobStore's
# transitions do (the in-flight set's name depends on the tenant stored in the job's hash).
_ENDED = """
local function ended(job, id, inflight_prefix, deadlines)
  local tenant = redis.call('HGET', job, 'tenant')
  if tenant then redis.call('SREM', inflight_prefix .. tenant, id) end
  redis.call('ZREM', deadlines, id)
end
"""

# Redis's clock as epoch seconds and as an RFC 3339 UTC string with milliseconds (like
# inferq.timefmt.now_rfc3339; days to a civil date after Howard Hinnant's algorithm).
REDIS_CLOCK_LUA = """
local function rfc3339(secs, micros)
  local z = math.floor(secs / 86400) + 719468
  local rem = secs % 86400
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524)
    - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local day = doy - math.floor((153 * mp + 2) / 5) + 1
  local month = mp < 10 and mp + 3 or mp - 9
  local year = yoe + era * 400 + (month <= 2 and 1 or 0)
  return string.format('%04d-%02d-%02dT%02d:%02d:%02d.%03dZ', year, month, day,
    math.floor(rem / 3600), math.floor(rem % 3600 / 60), rem % 60, math.floor(micros / 1000))
end
local function redis_clock()
  local t = redis.call('TIME')
  local secs, micros = tonumber(t[1]), tonumber(t[2])
  return secs + micros / 1e6, rfc3339(secs, micros)
end
"""

# Pops up to ARGV[1] ids, high lane first, and marks each still-queued job running for its owner
# with a lease of ARGV[3] seconds; answers {id, record hash, input rows} of each job claimed, so
# the batcher needs no second trip. The time (started_at, the lease's end, the deadline check)
# is Redis's own: the claim may have waited behind a BLPOP in its pipeline, and leases are
# renewed and checked by Redis's clock too, whatever the workers' clocks say. A sync request's
# entry is answered as {entry} (see `sync.CLAIM_LUA`; KEYS[9] the held entries). Lanes left empty
# silence the doorbell (KEYS[8]): its rings were for jobs now taken, and would only wake
# batchers to claim nothing.
_CLAIM = (
    _ENDED
    + REDIS_CLOCK_LUA
    + sync.CLAIM_LUA
    + """
local now, now_text = redis_clock()
local claimed = {}
local want = tonumber(ARGV[1])
for lane_index = 1, 3 do
  while #claimed < want do
    local id = redis.call('LPOP', KEYS[lane_index])
    if not id then break end
    if string.byte(id, 1) == 126 then
      sync_claim(id, now, tonumber(ARGV[3]), KEYS[4], KEYS[9], claimed)
    else
    local job = ARGV[5] .. id
    local deadline = tonumber(redis.call('HGET', job, 'deadline_at') or '')
    local queued = redis.call('HGET', job, 'status') == 'queued'
    if queued and deadline and deadline < now then
      redis.call('HSET', job, 'status', 'failed', 'finished_at', now_text, 'error',
        cjson.encode({code = 'deadline_exceeded', message = 'the job passed its deadline'}))
      redis.call('HINCRBY', KEYS[6], 'queued', -1)
      redis.call('HINCRBY', KEYS[6], 'failed', 1)
      redis.call('XADD', job .. ':events', 'MAXLEN', '~', 1000, '*', 'status', 'failed')
      redis.call('PUBLISH', ARGV[4], id .. ' failed')
      ended(job, id, ARGV[6], KEYS[7])
      if redis.call('HEXISTS', job, 'webhook') == 1 then
        redis.call('ZADD', KEYS[5], 'NX', 0, id)
      end
    elseif queued then
      redis.call('HSET', job, 'status', 'running', 'started_at', now_text, 'owner', ARGV[2])
      redis.call('HINCRBY', KEYS[6], 'queued', -1)
      redis.call('HINCRBY', KEYS[6], 'running', 1)
      redis.call('HINCRBY', job, 'attempts', 1)
      redis.call('ZADD', KEYS[4], now + tonumber(ARGV[3]), id)
      redis.call('XADD', job .. ':events', 'MAXLEN', '~', 1000, '*', 'status', 'running')
      claimed[#claimed + 1] = {id, redis.call('HGETALL', job), redis.call('GET', job .. ':input')}
    end
    end
  end
end
if redis.call('LLEN', KEYS[1]) + redis.call('LLEN', KEYS[2]) + redis.call('LLEN', KEYS[3]) == 0 then
  redis.call('DEL', KEYS[8])
end
return claimed
"""
)

# Puts jobs whose lease ran out (by Redis's clock) back at the front of their lane, or fails them
# after too many tries. A held sync request goes back too, until its deadline (KEYS[5]: the held
# entries).
_REQUEUE_EXPIRED = (
    _ENDED
    + REDIS_CLOCK_LUA
    + """
local now, now_text = redis_clock()
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 100)
local requeued = 0
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local job = ARGV[1] .. id
  local entry = redis.call('HGET', KEYS[5], id)
  if entry then
    redis.call('HDEL', KEYS[5], id)
    local deadline, priority = string.match(entry, '^~(%S+) (%S+)')
    if tonumber(deadline) >= now then
      redis.call('LPUSH', ARGV[5] .. priority, entry)
      redis.call('RPUSH', ARGV[4], '1')
      redis.call('LTRIM', ARGV[4], -tonumber(ARGV[7]), -1)
      requeued = requeued + 1
    end
  elseif redis.call('HGET', job, 'status') == 'running' then
    local attempts = tonumber(redis.call('HGET', job, 'attempts') or '0')
    if attempts >= tonumber(ARGV[2]) then
      redis.call('HINCRBY', KEYS[3], 'running', -1)
      redis.call('HINCRBY', KEYS[3], 'failed', 1)
      local reason = 'the worker scoring this job was lost ' .. attempts .. ' times'
      redis.call('HSET', job, 'status', 'failed', 'finished_at', now_text, 'error',
        cjson.encode({code = 'worker_lost', message = reason}))
      redis.call('XADD', job .. ':events', 'MAXLEN', '~', 1000, '*', 'status', 'failed')
      redis.call('PUBLISH', ARGV[3], id .. ' failed')
      ended(job, id, ARGV[6], KEYS[4])
      if redis.call('HEXISTS', job, 'webhook') == 1 then
        redis.call('ZADD', KEYS[2], 'NX', 0, id)
      end
    else
      redis.call('HSET', job, 'status', 'queued')
      redis.call('HINCRBY', KEYS[3], 'running', -1)
      redis.call('HINCRBY', KEYS[3], 'queued', 1)
      local priority = redis.call('HGET', job, 'priority') or 'normal'
      redis.call('LPUSH', ARGV[5] .. priority, id)
      redis.call('XADD', job .. ':events', 'MAXLEN', '~', 1000, '*', 'status', 'queued')
      redis.call('RPUSH', ARGV[4], '1')
      redis.call('LTRIM', ARGV[4], -tonumber(ARGV[7]), -1)
      requeued = requeued + 1
    end
  end
end
return requeued
"""
)

# Extends the leases (ARGV[1] seconds from now, by Redis's clock) of the jobs ARGV[2..] that still
# hold one.
_RENEW = (
    REDIS_CLOCK_LUA
    + """
local until_ = redis_clock() + tonumber(ARGV[1])
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', until_, ARGV[i])
end
"""
)


@dataclass
class ClaimedJob:
    """A job a batcher now holds: its record as claimed (running) and its input rows; or a
    sync request, with an in-memory record, its rows and `request` set."""

    record: JobRecord
    rows: bytes | None
    """The input rows JSON; None when they are gone (expired)."""
    request: sync.SyncRequest | None = None
    """The synchronous request this is (answered by publishing, not stored); None: a job."""


class PendingJobs:
    """Claim, renew and recover small jobs held in Redis lists (JobStore.create queues them)."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._claim = client.register_script(_CLAIM)
        self._requeue = client.register_script(_REQUEUE_EXPIRED)
        self._renew = client.register_script(_RENEW)

    def claim(
        self, owner: str, count: int, lease_seconds: float, wait: float = 0.0
    ) -> list[ClaimedJob]:
        """Take up to `count` queued jobs, highest priority first, leased to `owner`.

        With `wait` > 0, first wait up to that many seconds for the doorbell to ring, in the
        same round trip: Redis runs the claim as soon as its BLPOP returns, so a batcher that
        was idle takes a new job one round trip sooner than by waiting, then claiming.
        """
        call = self.claim_call(owner, count, lease_seconds)
        if wait <= 0:
            return self.claimed(call.run())
        doorbell, reply = pipelined(
            self.redis, lambda pipe: pipe.blpop([DOORBELL], timeout=wait), call
        )
        for result in (doorbell, reply):
            if isinstance(result, Exception):
                raise result
        return self.claimed(reply)

    def claim_call(self, owner: str, count: int, lease_seconds: float) -> ScriptCall:
        """The script call that claims (see `claim`), to send with other commands; its reply
        goes to `claimed`."""
        return ScriptCall(
            self._claim,
            [
                *(lane(p) for p in PRIORITY_LANES),
                LEASES,
                keys.WEBHOOKS_DUE,
                metric_keys.JOB_STATUS,
                keys.DEADLINES_ZSET,
                DOORBELL,
                sync.HELD,
            ],
            [
                count,
                owner,
                lease_seconds,
                keys.EVENTS_CHANNEL,
                f"{keys.PREFIX}:job:",
                keys.tenant_inflight(""),
            ],
        )

    def claimed(self, reply: list) -> list[ClaimedJob]:
        """The jobs a reply of the claim script hands over, with the rows of sync requests that
        travel apart from their entries (one MGET; rows gone leave the request without input)."""
        claimed: list[ClaimedJob] = []
        apart: list[sync.SyncRequest] = []
        for item in reply:
            if len(item) == 1:
                request = sync.SyncRequest.from_entry(item[0])
                if request.apart:
                    apart.append(request)
                claimed.append(ClaimedJob(request.as_record(), request.rows, request))
                continue
            _, flat, rows = item
            record = JobRecord.from_flat(flat)
            assert record is not None, "the script answers only jobs it found"
            claimed.append(ClaimedJob(record, rows))
        if apart:
            # A client without decode_responses (the workers'): the rows come back as bytes.
            kept = cast(list[bytes | None], self.redis.mget([r.rows_key for r in apart]))
            found = dict(zip((request.id for request in apart), kept, strict=True))
            for job in claimed:
                if job.request is not None and job.request.id in found:
                    job.rows = found[job.request.id]
                    job.request.rows = job.rows or b""
        return claimed

    def ring(self) -> None:
        """Wake another batcher: there is more queued work than one batch."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.rpush(DOORBELL, "1")
        pipe.ltrim(DOORBELL, -DOORBELL_LENGTH, -1)
        pipe.execute()

    def renew(self, job_ids: list[str], lease_seconds: float) -> None:
        """Extend the leases of jobs still being scored, `lease_seconds` from now by Redis's
        clock (as the claim stamped them): a worker whose clock is off keeps its jobs."""
        if job_ids:
            self._renew(keys=[LEASES], args=[lease_seconds, *job_ids])

    def requeue_expired(self, max_attempts: int) -> int:
        """Give jobs of lost workers back to their lanes; fail those lost `max_attempts` times.
        Leases run out by Redis's clock, not the caller's."""
        return int(
            self._requeue(
                keys=[
                    LEASES,
                    keys.WEBHOOKS_DUE,
                    metric_keys.JOB_STATUS,
                    keys.DEADLINES_ZSET,
                    sync.HELD,
                ],
                args=[
                    f"{keys.PREFIX}:job:",
                    max_attempts,
                    keys.EVENTS_CHANNEL,
                    DOORBELL,
                    f"{keys.PREFIX}:pending:",
                    keys.tenant_inflight(""),
                    DOORBELL_LENGTH,
                ],
            )
        )

    @staticmethod
    def answer_write(messages: dict[str, bytes], rows_keys: list[str] | None = None) -> Write:
        """Publishing the answers of sync requests (`sync.answer_message`, by request id),
        releasing their leases and dropping the `rows_keys` of those whose rows travelled
        apart, as a write for `pipelined`."""

        def write(pipe: Any) -> None:
            for message in messages.values():
                pipe.publish(keys.EVENTS_CHANNEL, message)
            if messages:
                pipe.hdel(sync.HELD, *messages)
                pipe.zrem(LEASES, *messages)
            if rows_keys:
                pipe.unlink(*rows_keys)

        return write
