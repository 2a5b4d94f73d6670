"""The chunk ledger of a file job: which chunks are scored, counted exactly once, and when all are.

A chunk may be scored twice (a worker lost mid-chunk hands its task to another); its part is then
rewritten with the same rows, and the ledger counts its rows only the first time.

The ledger also knows which chunks are being scored right now (and how far each got). A chunk
starts only while its job is `running`, so once a job is `cancelling` that set only shrinks, and
the job becomes `cancelled` when it is empty: after that no part is written, and the rows a
cancelled job serves stay what they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
import redis

from inferq.jobs import keys
from inferq.jobs.store import EVENTS_MAXLEN
from inferq.redis_client import decoded
from inferq.usage import keys as usage_keys
from inferq.usage.counting import USAGE_LUA, UsageEntry

# An idle cancelling job (no chunk being scored) may end `cancelled`: the caller ends it.
_IDLE_CANCELLING = """
local function idle_cancelling(job, running)
  return redis.call('HGET', job, 'status') == 'cancelling' and redis.call('HLEN', running) == 0
end
"""

# A chunk counted for the first time adds its usage (ARGV[6], JSON; '' for none) for ARGV[7]
# seconds, with the tenants' row totals in KEYS[5]: a chunk scored twice is counted once.
_FINISH = (
    _IDLE_CANCELLING
    + USAGE_LUA
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, 0, 0} end
redis.call('HDEL', KEYS[4], ARGV[1])
local added = redis.call('SADD', KEYS[3], ARGV[1])
redis.call('EXPIRE', KEYS[3], ARGV[5])
if added == 1 then
  local done = redis.call('HINCRBY', KEYS[1], 'rows_done', ARGV[2])
  local failed = redis.call('HINCRBY', KEYS[1], 'rows_failed', ARGV[3])
  local total = redis.call('HGET', KEYS[1], 'rows_total') or ''
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*',
    'rows_done', done, 'rows_failed', failed, 'rows_total', total)
  usage_count(ARGV[6], ARGV[7], KEYS[5])
end
local idle = idle_cancelling(KEYS[1], KEYS[4]) and 1 or 0
local chunks = redis.call('HGET', KEYS[1], 'chunks_total')
if chunks and tonumber(chunks) == redis.call('SCARD', KEYS[3]) then return {added, 1, idle} end
return {added, 0, idle}
"""
)

_SEAL = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'chunks_total', ARGV[1], 'rows_total', ARGV[2])
local done = redis.call('HGET', KEYS[1], 'rows_done') or '0'
local failed = redis.call('HGET', KEYS[1], 'rows_failed') or '0'
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*',
  'rows_done', done, 'rows_failed', failed, 'rows_total', ARGV[2])
if redis.call('SCARD', KEYS[3]) == tonumber(ARGV[1]) then return 2 end
return 1
"""

_START = """
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. ' 0')
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
"""

_LEAVE = (
    _IDLE_CANCELLING
    + """
redis.call('HDEL', KEYS[2], ARGV[1])
return idle_cancelling(KEYS[1], KEYS[2]) and 1 or 0
"""
)


@dataclass(frozen=True)
class ChunkOutcome:
    """What finishing a chunk did: counted it now (not before), whether the job is complete, and
    whether the job is `cancelling` with no chunk left being scored (it may end `cancelled`)."""

    counted: bool
    complete: bool
    job_exists: bool = True
    idle_cancelling: bool = False


class ChunkLedger:
    """Counts finished chunks of file jobs in Redis, each chunk once."""

    def __init__(self, client: redis.Redis, retention_seconds: int) -> None:
        self.redis = client
        self.retention_seconds = retention_seconds
        self._finish = client.register_script(_FINISH)
        self._seal = client.register_script(_SEAL)
        self._start = client.register_script(_START)
        self._leave = client.register_script(_LEAVE)

    def seal(self, job_id: str, chunks_total: int, rows_total: int) -> bool:
        """Record how many chunks and rows the input holds; True when all are scored already."""
        reply = self._seal(
            keys=[keys.job(job_id), keys.job_events(job_id), keys.job_chunks_done(job_id)],
            args=[chunks_total, rows_total, EVENTS_MAXLEN],
        )
        return reply == 2

    def start_chunk(self, job_id: str, index: int, owner: str) -> bool:
        """Note that `owner` scores chunk `index` now; False (and nothing noted) unless the job
        is `running`."""
        reply = self._start(
            keys=[keys.job(job_id), keys.job_chunks_running(job_id)],
            args=[index, owner, self.retention_seconds],
        )
        return reply == 1

    def report_progress(self, job_id: str, index: int, owner: str, rows_scored: int) -> str:
        """Note how far chunk `index` got, and return the job's status (one round trip)."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(keys.job_chunks_running(job_id), str(index), f"{owner} {rows_scored}")
        pipe.hget(keys.job(job_id), "status")
        status = pipe.execute()[1]
        return status.decode() if status is not None else ""

    def leave_chunk(self, job_id: str, index: int) -> bool:
        """Chunk `index` stopped without output; True when the job is `cancelling` and no chunk
        is being scored any more."""
        reply = self._leave(keys=[keys.job(job_id), keys.job_chunks_running(job_id)], args=[index])
        return reply == 1

    def finish_chunk(
        self,
        job_id: str,
        index: int,
        rows_done: int,
        rows_failed: int,
        usage: UsageEntry | None = None,
        usage_ttl: int = 0,
    ) -> ChunkOutcome:
        """Mark chunk `index` scored and count its rows, and add its `usage` (kept
        `usage_ttl` seconds), unless it was counted already."""
        added, complete, idle = self._finish(
            keys=[
                keys.job(job_id),
                keys.job_events(job_id),
                keys.job_chunks_done(job_id),
                keys.job_chunks_running(job_id),
                usage_keys.TENANT_ROWS,
            ],
            args=[
                index,
                rows_done,
                rows_failed,
                EVENTS_MAXLEN,
                self.retention_seconds,
                orjson.dumps(usage) if usage is not None else "",
                usage_ttl,
            ],
        )
        return ChunkOutcome(
            counted=added == 1,
            complete=bool(complete),
            job_exists=added != -1,
            idle_cancelling=bool(idle),
        )

    def is_done(self, job_id: str, index: int) -> bool:
        """Whether chunk `index` was scored and counted already."""
        return bool(self.redis.sismember(keys.job_chunks_done(job_id), str(index)))

    def being_scored(self, job_id: str) -> dict[int, tuple[str, int]]:
        """The chunks being scored now: index to (owner, rows scored so far)."""
        raw = self.redis.hgetall(keys.job_chunks_running(job_id))
        found = {}
        for index, value in raw.items():
            owner, _, rows = decoded(value).rpartition(" ")
            found[int(index)] = (owner, int(rows))
        return found
