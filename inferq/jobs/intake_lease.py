"""Leases on file jobs being taken in, so a job whose API process died mid-upload fails soon.

An upload is cut into chunks and queued while it streams; the job exists from its first chunk,
but only the end of the stream tells how many chunks there are. If the API process taking it in
dies (SIGKILL, OOM, a lost machine), no one will ever say: without this the job would wait for
its deadline (a day by default). The API holds a lease on the job's intake and renews it while
the upload runs; it lets go once everything is stored and queued. The workers' sweep fails a job
whose lease ran out (`intake_interrupted`). Times are Redis's clock, as for the batchers' leases.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis

from inferq.jobs.keys import INTAKES_ZSET
from inferq.jobs.keys import job as job_key
from inferq.jobs.pending import REDIS_CLOCK_LUA
from inferq.jobs.record import TERMINAL_STATUSES

_HOLD = (
    REDIS_CLOCK_LUA
    + """
redis.call('ZADD', KEYS[1], redis_clock() + tonumber(ARGV[1]), ARGV[2])
"""
)

# Removes and answers up to ARGV[1] ids whose lease ran out: each is taken by one sweeper.
_TAKE_LAPSED = (
    REDIS_CLOCK_LUA
    + """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', redis_clock(), 'LIMIT', 0, ARGV[1])
if #ids > 0 then redis.call('ZREM', KEYS[1], unpack(ids)) end
return ids
"""
)

# Lets go of the lease of ARGV[1] if its job (KEYS[2]) was never stored or has ended (its status
# is one of ARGV[2], comma-separated).
_SETTLE = """
local status = redis.call('HGET', KEYS[2], 'status')
if not status or string.find(',' .. ARGV[2] .. ',', ',' .. status .. ',', 1, true) then
  redis.call('ZREM', KEYS[1], ARGV[1])
end
"""
_ENDED = ",".join(sorted(TERMINAL_STATUSES))


class IntakeLeases:
    """Hold, renew and let go of intake leases (API), and take the lapsed ones (sweep)."""

    def __init__(self, client: redis.Redis, lease_seconds: float) -> None:
        self.redis = client
        self.lease_seconds = lease_seconds
        self._hold = client.register_script(_HOLD)
        self._take_lapsed = client.register_script(_TAKE_LAPSED)
        self._settle = client.register_script(_SETTLE)

    def hold(self, job_id: str) -> None:
        """Take or renew the lease: `lease_seconds` from now."""
        self._hold(keys=[INTAKES_ZSET], args=[self.lease_seconds, job_id])

    def release(self, job_id: str) -> None:
        """The intake is over: every chunk is stored and queued, or the job has ended."""
        self.redis.zrem(INTAKES_ZSET, job_id)

    def settle(self, job_id: str) -> None:
        """After an intake failed: let go of the lease if the job was never stored (refused
        before) or has ended (aborted); else leave it to run out, so the sweep fails the job."""
        self._settle(keys=[INTAKES_ZSET, job_key(job_id)], args=[job_id, _ENDED])

    def take_lapsed(self, limit: int = 100) -> list[str]:
        """Ids whose lease ran out, removed so that one sweeper handles each."""
        return [job_id.decode() for job_id in self._take_lapsed(keys=[INTAKES_ZSET], args=[limit])]

    @contextmanager
    def held(self, job_id: str) -> Iterator[None]:
        """Hold the lease while the block stores and queues the job (a short step: no renewal);
        let go when it ends well. After an error, see `settle`."""
        self.hold(job_id)
        try:
            yield
        except BaseException:
            self.settle(job_id)
            raise
        self.release(job_id)
