"""The chunk ledger of a file job: which chunks are scored, counted exactly once, and when all are.

A chunk may be scored twice (a worker lost mid-chunk hands its task to another); its part is then
rewritten with the same rows, and the ledger counts its rows only the first time.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from inferq.jobs import keys
from inferq.jobs.store import EVENTS_MAXLEN

_FINISH = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, 0} end
local added = redis.call('SADD', KEYS[3], ARGV[1])
redis.call('EXPIRE', KEYS[3], ARGV[5])
if added == 1 then
  local done = redis.call('HINCRBY', KEYS[1], 'rows_done', ARGV[2])
  local failed = redis.call('HINCRBY', KEYS[1], 'rows_failed', ARGV[3])
  local total = redis.call('HGET', KEYS[1], 'rows_total') or ''
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*',
    'rows_done', done, 'rows_failed', failed, 'rows_total', total)
end
local chunks = redis.call('HGET', KEYS[1], 'chunks_total')
if chunks and tonumber(chunks) == redis.call('SCARD', KEYS[3]) then return {added, 1} end
return {added, 0}
"""

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


@dataclass(frozen=True)
class ChunkOutcome:
    """What finishing a chunk did: counted it now (not before), and whether the job is complete."""

    counted: bool
    complete: bool
    job_exists: bool = True


class ChunkLedger:
    """Counts finished chunks of file jobs in Redis, each chunk once."""

    def __init__(self, client: redis.Redis, retention_seconds: int) -> None:
        self.redis = client
        self.retention_seconds = retention_seconds
        self._finish = client.register_script(_FINISH)
        self._seal = client.register_script(_SEAL)

    def seal(self, job_id: str, chunks_total: int, rows_total: int) -> bool:
        """Record how many chunks and rows the input holds; True when all are scored already."""
        reply = self._seal(
            keys=[keys.job(job_id), keys.job_events(job_id), keys.job_chunks_done(job_id)],
            args=[chunks_total, rows_total, EVENTS_MAXLEN],
        )
        return reply == 2

    def finish_chunk(
        self, job_id: str, index: int, rows_done: int, rows_failed: int
    ) -> ChunkOutcome:
        """Mark chunk `index` scored and count its rows unless it was counted already."""
        added, complete = self._finish(
            keys=[keys.job(job_id), keys.job_events(job_id), keys.job_chunks_done(job_id)],
            args=[index, rows_done, rows_failed, EVENTS_MAXLEN, self.retention_seconds],
        )
        return ChunkOutcome(counted=added == 1, complete=bool(complete), job_exists=added != -1)

    def is_done(self, job_id: str, index: int) -> bool:
        """Whether chunk `index` was scored and counted already."""
        return bool(self.redis.sismember(keys.job_chunks_done(job_id), index))
