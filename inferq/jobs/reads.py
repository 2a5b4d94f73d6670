"""Reading jobs from the API's event loop without a thread hop (redis.asyncio)."""

from __future__ import annotations

import redis.asyncio as aioredis

from inferq.jobs import keys
from inferq.jobs.record import JobRecord


class AsyncJobReads:
    """The reads a request makes on its hot path: a job, and a job with its inline result."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.redis = client

    async def get(self, job_id: str) -> JobRecord | None:
        """The job's record, or None when there is no such job."""
        raw = await self.redis.hgetall(keys.job(job_id))
        return JobRecord.from_hash(raw) if raw else None

    async def get_with_result(self, job_id: str) -> tuple[JobRecord | None, bytes | None]:
        """The job's record and its scored rows (None until a JSON job has them), in one trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.job(job_id))
            pipe.get(keys.job_result(job_id))
            raw, result = await pipe.execute()
        return (JobRecord.from_hash(raw) if raw else None), result
