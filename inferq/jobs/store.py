"""JobStore: job records, inline inputs and results, and status changes, kept in Redis."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
import redis

from inferq.ids import ulid_millis
from inferq.jobs import keys
from inferq.jobs.record import TERMINAL_STATUSES, JobRecord, JobStatus
from inferq.timefmt import now_rfc3339

# Changes status only from an allowed one, then records the event and wakes long-pollers, all in
# one step so that no reader sees a status without its event. A job that ends (ARGV[6] is the
# in-flight set prefix) leaves its tenant's jobs in flight in the same step; that set's name
# depends on the tenant stored in the hash, so it is built here (one Redis, not a Cluster).
_TRANSITION = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return false end
if not string.find(',' .. ARGV[1] .. ',', ',' .. status .. ',', 1, true) then return status end
redis.call('HSET', KEYS[1], 'status', ARGV[2])
for i = 7, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
local tenant = redis.call('HGET', KEYS[1], 'tenant')
if ARGV[6] ~= '' and tenant then redis.call('SREM', ARGV[6] .. tenant, ARGV[4]) end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'status', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4] .. ' ' .. ARGV[2])
return 'OK'
"""

_PROGRESS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local done = redis.call('HINCRBY', KEYS[1], 'rows_done', ARGV[1])
local failed = redis.call('HINCRBY', KEYS[1], 'rows_failed', ARGV[2])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'rows_done', done, 'rows_failed', failed)
return {done, failed}
"""

EVENTS_MAXLEN = 1000


class JobStore:
    """Reads and changes job state; every change of status is atomic and announced."""

    def __init__(self, client: redis.Redis, retention_seconds: int) -> None:
        self.redis = client
        self.retention_seconds = retention_seconds
        self._transition = client.register_script(_TRANSITION)
        self._progress = client.register_script(_PROGRESS)

    # -- creation and reading -------------------------------------------------------------

    def create(self, record: JobRecord, inline_input: bytes | None = None) -> None:
        """Store a new queued job (and its inline rows) with the retention period as TTL."""
        ttl = self.retention_seconds
        created_ms = ulid_millis(record.id)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(keys.job(record.id), mapping=record.to_hash())
        pipe.expire(keys.job(record.id), ttl)
        if inline_input is not None:
            pipe.set(keys.job_input(record.id), inline_input, ex=ttl)
        pipe.xadd(keys.job_events(record.id), {"status": record.status.value})
        pipe.expire(keys.job_events(record.id), ttl)
        pipe.zadd(keys.tenant_jobs(record.tenant), {record.id: created_ms})
        if not record.terminal:
            pipe.sadd(keys.tenant_inflight(record.tenant), record.id)
        pipe.execute()

    def get(self, job_id: str) -> JobRecord | None:
        """The job's record, or None when there is no such job (or it was deleted)."""
        raw = self.redis.hgetall(keys.job(job_id))
        return JobRecord.from_hash(raw) if raw else None

    def list_records(
        self,
        tenant: str,
        limit: int,
        cursor: str | None = None,
        status: str | None = None,
        model: str | None = None,
    ) -> list[JobRecord]:
        """A tenant's jobs, newest first, created before the `cursor` job, filtered."""
        found: list[JobRecord] = []
        upper: str | float = ulid_millis(cursor) if cursor else "+inf"
        offset = 0
        page = max(limit, 50)
        while len(found) < limit:
            ids = [
                _text(item)
                for item in self.redis.zrevrangebyscore(
                    keys.tenant_jobs(tenant), upper, "-inf", start=offset, num=page
                )
            ]
            if not ids:
                break
            offset += len(ids)
            for record in self.get_many(i for i in ids if cursor is None or i < cursor):
                if (status is None or record.status == status) and (
                    model is None or record.model_name == model
                ):
                    found.append(record)
        return found[:limit]

    def get_many(self, job_ids: Iterable[str]) -> list[JobRecord]:
        """Records of the given ids that still exist, in the given order."""
        ids = list(job_ids)
        pipe = self.redis.pipeline(transaction=False)
        for job_id in ids:
            pipe.hgetall(keys.job(job_id))
        return [JobRecord.from_hash(raw) for raw in pipe.execute() if raw]

    def read_inline_input(self, job_id: str) -> bytes | None:
        """The JSON rows a JSON job was submitted with."""
        return self.redis.get(keys.job_input(job_id))

    def read_inline_result(self, job_id: str) -> bytes | None:
        """The scored rows of a JSON job, as columns/data JSON."""
        return self.redis.get(keys.job_result(job_id))

    def read_errors(self, job_id: str) -> list[dict[str, Any]]:
        """The per-row errors recorded for a job."""
        raw = self.redis.get(keys.job_errors(job_id))
        return orjson.loads(raw) if raw else []

    def events_since(
        self, job_id: str, last_id: str, block_ms: int | None
    ) -> list[tuple[str, dict]]:
        """Status and progress events after last_id (``0`` for all), waiting up to block_ms."""
        reply = self.redis.xread({keys.job_events(job_id): last_id}, block=block_ms, count=100)
        if not reply:
            return []
        _, entries = reply[0]
        return [
            (_text(eid), {_text(k): _text(v) for k, v in fields.items()}) for eid, fields in entries
        ]

    # -- status changes -------------------------------------------------------------------

    def transition(
        self, job_id: str, allowed: Iterable[JobStatus], new: JobStatus, **fields: Any
    ) -> bool:
        """Move the job to `new` if its status is one of `allowed`; set `fields` with it."""
        args: list[str] = [
            ",".join(status.value for status in allowed),
            new.value,
            keys.EVENTS_CHANNEL,
            job_id,
            str(EVENTS_MAXLEN),
            keys.tenant_inflight("") if new in TERMINAL_STATUSES else "",
        ]
        for name, value in fields.items():
            args += [name, _encode_field(value)]
        reply = self._transition(keys=[keys.job(job_id), keys.job_events(job_id)], args=args)
        return reply == b"OK"

    def claim(self, job_id: str) -> JobRecord | None:
        """Mark a queued job running for a worker; returns it if the worker should score it.

        A job already running is returned too: its task was handed out again after a worker
        was lost, and scoring is idempotent. Ended, cancelled or deleted jobs give None.
        """
        self.transition(job_id, [JobStatus.QUEUED], JobStatus.RUNNING, started_at=now_rfc3339())
        record = self.get(job_id)
        if record is None or record.status != JobStatus.RUNNING:
            return None
        return record

    def add_progress(self, job_id: str, rows_done: int, rows_failed: int = 0) -> None:
        """Count rows scored and rows failed."""
        self._progress(
            keys=[keys.job(job_id), keys.job_events(job_id)],
            args=[rows_done, rows_failed, EVENTS_MAXLEN],
        )

    def store_inline_result(self, job_id: str, result_json: bytes, errors: list[dict]) -> None:
        """Keep a JSON job's scored rows and errors for the retention period."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(keys.job_result(job_id), result_json, ex=self.retention_seconds)
        if errors:
            pipe.set(keys.job_errors(job_id), orjson.dumps(errors), ex=self.retention_seconds)
        pipe.execute()

    def succeed(self, job_id: str, rows_done: int, rows_failed: int, **fields: Any) -> bool:
        """End a running job as succeeded with its final counts."""
        return self.transition(
            job_id,
            [JobStatus.RUNNING],
            JobStatus.SUCCEEDED,
            rows_done=rows_done,
            rows_failed=rows_failed,
            finished_at=now_rfc3339(),
            **fields,
        )

    def fail(self, job_id: str, code: str, message: str) -> bool:
        """End a job that has not ended yet as failed, with the reason."""
        return self.transition(
            job_id,
            [JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.CANCELLING],
            JobStatus.FAILED,
            error={"code": code, "message": message},
            finished_at=now_rfc3339(),
        )

    def delete(self, job_id: str, tenant: str) -> None:
        """Forget a job and everything it keeps in Redis."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(*keys.all_job_keys(job_id))
        pipe.zrem(keys.tenant_jobs(tenant), job_id)
        pipe.srem(keys.tenant_inflight(tenant), job_id)
        pipe.execute()


def _encode_field(value: Any) -> str:
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
