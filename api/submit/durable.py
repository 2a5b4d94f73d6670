"""Acknowledged means durable: a job is answered accepted only once N replicas hold it.

With `INFERQ_REDIS_MIN_REPLICAS` = N ≥ 1, every job creation is followed by `WAIT N timeout` on
the connection that wrote it: the JSON rows lane sends the `WAIT` right behind its submission
script (`MultiplexedRedis.execute_replicated`); the other ways in (uploads, `input_uri` jobs,
Idempotency-Key replays) end with `confirm`, a replicated no-op write and a `WAIT` behind it.
Redis answers commands in order, so replicas that acknowledged the no-op hold every write
made before it, the job's included. Fewer than N in time: `NotReplicated`, answered 503 with
Retry-After, and the client retries with its Idempotency-Key to get the same job.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from inferq.config import Settings
from inferq.redis_multiplex import MultiplexedRedis, NotReplicated

#: The no-op write `confirm` waits on: a PUBLISH is replicated and touches no key.
CONFIRM_CHANNEL = "inferq:replicated"


class Durability:
    """Waits for `redis_min_replicas` replicas to hold what this API process wrote."""

    def __init__(
        self,
        settings: Settings,
        aclient: aioredis.Redis,
        multiplexed: MultiplexedRedis | None = None,
    ) -> None:
        self.replicas = settings.redis_min_replicas
        self.timeout_ms = settings.redis_wait_timeout_ms
        self._aclient = aclient
        self._multiplexed = multiplexed

    async def confirm(self) -> None:
        """Return once the replicas hold every write made so far; NotReplicated otherwise."""
        if not self.replicas:
            return
        if self._multiplexed is not None:
            await self._multiplexed.execute_replicated(
                self.replicas, self.timeout_ms, "PUBLISH", CONFIRM_CHANNEL, ""
            )
            return
        async with self._aclient.pipeline(transaction=False) as pipe:
            pipe.publish(CONFIRM_CHANNEL, "")
            pipe.execute_command("WAIT", self.replicas, self.timeout_ms)
            _, acked = await pipe.execute()
        if acked < self.replicas:
            raise NotReplicated(None, acked, self.replicas)
