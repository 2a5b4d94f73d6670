"""JobStore: job records, inline inputs and results, and status changes, kept in Redis."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

import orjson
import redis
import redis.asyncio as aioredis

from inferq.config import Settings
from inferq.ids import ulid_millis
from inferq.jobs import keys, sync
from inferq.jobs.idempotency import IdempotencyMark, IdempotencyTaken
from inferq.jobs.pending import DOORBELL, DOORBELL_LENGTH, LEASES, PendingJobs, lane
from inferq.jobs.record import TERMINAL_STATUSES, JobRecord, JobStatus
from inferq.jobs.store_scripts import CREATE, FINISH_INLINE, READ_WITH_RESULT, TRANSITION
from inferq.metrics import keys as metric_keys
from inferq.redis_client import ScriptArgs, ScriptCall, decoded
from inferq.timefmt import now_rfc3339
from inferq.usage import keys as usage_keys
from inferq.usage.counting import BatchUsage, UsageEntry

EVENTS_MAXLEN = 1000
#: Endings a job's webhook can announce (`job.<status>`); expiry is not one of them.
WEBHOOK_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})


@dataclass
class InlineOutcome:
    """How one claimed JSON job ended: its result JSON and row count, or an error."""

    job_id: str
    result: bytes = b""
    rows: int = 0
    error: dict[str, str] | None = None
    batch_jobs: int = 1
    """How many jobs shared the predict call (kept on the job hash for metrics and tests)."""
    cpu_seconds: float = 0.0
    """This job's share (by rows) of the thread CPU time of its predict call."""


class JobStore:
    """Reads and changes job state; every change of status is atomic and announced."""

    def __init__(
        self,
        client: redis.Redis,
        retention_seconds: int,
        record_grace_seconds: int = 0,
        aclient: aioredis.Redis | None = None,
    ) -> None:
        self.redis = client
        self.aredis = aclient
        """The API's async client (None in workers), for the `*_async` methods."""
        self.retention_seconds = retention_seconds
        self.record_ttl = retention_seconds + record_grace_seconds
        self._transition = client.register_script(TRANSITION)
        self._finish_inline = client.register_script(FINISH_INLINE)
        self._create = client.register_script(CREATE)
        if aclient is not None:
            self._read_with_result = aclient.register_script(READ_WITH_RESULT)
        self.pending = PendingJobs(client)

    @classmethod
    def for_settings(
        cls, client: redis.Redis, settings: Settings, aclient: aioredis.Redis | None = None
    ) -> JobStore:
        """A store with the configured retention periods."""
        return cls(client, settings.retention_seconds, settings.record_grace_seconds, aclient)

    # -- creation and reading -------------------------------------------------------------

    def create(
        self,
        record: JobRecord,
        inline_input: bytes | None = None,
        *,
        enqueue: bool = True,
        idempotency: IdempotencyMark | None = None,
    ) -> None:
        """Store a new queued job with the retention period as TTL.

        A job given `inline_input` rows is queued for the batchers in the same step, so no job
        is ever stored without being queued. With `idempotency` the key is marked with the job
        in that step too; IdempotencyTaken (and nothing stored) when the key was used first.
        """
        reply = self._create(**self.create_call(record, inline_input, enqueue, idempotency))
        if not reply:
            raise IdempotencyTaken

    def create_call(
        self,
        record: JobRecord,
        inline_input: bytes | None,
        enqueue: bool,
        idempotency: IdempotencyMark | None,
    ) -> ScriptArgs:
        """The keys and arguments of `CREATE_LUA`'s `create` for a new job."""
        created_ms = ulid_millis(record.id)
        fields = [item for pair in record.to_hash().items() for item in pair]
        return {
            "keys": [
                keys.job(record.id),
                keys.job_input(record.id),
                keys.job_events(record.id),
                metric_keys.JOB_STATUS,
                keys.tenant_jobs(record.tenant),
                keys.DEADLINES_ZSET,
                keys.EXPIRY_ZSET,
                lane(record.priority),
                DOORBELL,
                keys.tenant_inflight(record.tenant),
                *([idempotency.redis_key] if idempotency else []),
            ],
            "args": [
                record.id,
                record.status.value,
                self.record_ttl,
                self.retention_seconds,
                created_ms,
                created_ms - self.record_ttl * 1000,
                "" if record.deadline_at is None else repr(record.deadline_at),
                "" if record.expires_at is None else repr(record.expires_at),
                "1" if inline_input is not None and enqueue else "",
                "" if record.terminal else "1",
                "" if inline_input is None else "1",
                inline_input or b"",
                idempotency.value(record.id) if idempotency else "",
                DOORBELL_LENGTH,
                *fields,
            ],
        }

    async def get_async(self, job_id: str) -> JobRecord | None:
        """`get` on the async client (the API's event loop)."""
        assert self.aredis is not None, "JobStore built without an async client"
        raw = await self.aredis.hgetall(keys.job(job_id))
        return JobRecord.from_hash(raw) if raw else None

    async def get_with_result_async(self, job_id: str) -> tuple[JobRecord | None, bytes | None]:
        """The job's record and its scored rows (None until a JSON job has them), in one trip."""
        assert self.aredis is not None, "JobStore built without an async client"
        flat, result = await self._read_with_result(
            keys=[keys.job(job_id), keys.job_result(job_id)]
        )
        return JobRecord.from_flat(flat), result or None

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
                decoded(item)
                for item in cast(
                    list[bytes],
                    self.redis.zrevrangebyscore(
                        keys.tenant_jobs(tenant), upper, "-inf", start=offset, num=page
                    ),
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
        return cast(bytes | None, self.redis.get(keys.job_input(job_id)))

    def read_inline_result(self, job_id: str) -> bytes | None:
        """The scored rows of a JSON job, as columns/data JSON."""
        return cast(bytes | None, self.redis.get(keys.job_result(job_id)))

    def read_shadow_result(self, job_id: str) -> bytes | None:
        """The rows of a JSON job as its alias's shadow version scored them."""
        return cast(bytes | None, self.redis.get(keys.job_shadow_result(job_id)))

    def read_errors(self, job_id: str) -> list[dict[str, Any]]:
        """The per-row errors recorded for a job."""
        raw = self.redis.get(keys.job_errors(job_id))
        return orjson.loads(raw) if raw else []

    def events_since(
        self, job_id: str, last_id: str, block_ms: int | None
    ) -> list[tuple[str, dict]]:
        """Status and progress events after last_id (``0`` for all), waiting up to block_ms."""
        # XREAD of one stream, RESP2: [[stream, [(id, {field: value}), ...]]]
        reply = cast(
            list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]],
            self.redis.xread({keys.job_events(job_id): last_id}, block=block_ms, count=100),
        )
        if not reply:
            return []
        _, entries = reply[0]
        return [
            (decoded(eid), {decoded(k): decoded(v) for k, v in fields.items()})
            for eid, fields in entries
        ]

    # -- status changes -------------------------------------------------------------------

    def transition(
        self, job_id: str, allowed: Iterable[JobStatus], new: JobStatus, **fields: Any
    ) -> bool:
        """Move the job to `new` if its status is one of `allowed`; set `fields` with it."""
        args = self._transition_args(job_id, allowed, new, **fields)
        reply = self._transition(keys=self._transition_keys(job_id, new), args=args)
        return reply == b"OK"

    @staticmethod
    def _transition_keys(job_id: str, new: JobStatus) -> list[str]:
        """The job's hash and events, the status counts and deadlines, plus the webhook due set
        when the job ends."""
        redis_keys = [
            keys.job(job_id),
            keys.job_events(job_id),
            metric_keys.JOB_STATUS,
            keys.DEADLINES_ZSET,
        ]
        if new in WEBHOOK_STATUSES:
            redis_keys.append(keys.WEBHOOKS_DUE)
        return redis_keys

    @staticmethod
    def _transition_args(
        job_id: str, allowed: Iterable[JobStatus], new: JobStatus, **fields: Any
    ) -> list[str]:
        args: list[str] = [
            ",".join(status.value for status in allowed),
            new.value,
            keys.EVENTS_CHANNEL if new in TERMINAL_STATUSES else "",
            job_id,
            str(EVENTS_MAXLEN),
            keys.tenant_inflight("") if new in TERMINAL_STATUSES else "",
        ]
        for name, value in fields.items():
            args += [name, _encode_field(value)]
        return args

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

    def store_inline_result(self, job_id: str, result_json: bytes, errors: list[dict]) -> None:
        """Keep a JSON job's scored rows and errors for the retention period."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(keys.job_result(job_id), result_json, ex=self.retention_seconds)
        if errors:
            pipe.set(keys.job_errors(job_id), orjson.dumps(errors), ex=self.retention_seconds)
        pipe.execute()

    def finish_inline_call(
        self, outcomes: list[InlineOutcome], usage: BatchUsage | None = None
    ) -> ScriptCall:
        """The script call that ends a batch of claimed JSON jobs: results stored, status set
        (cancelled instead of succeeded for a job cancelled while its batch was scored), and
        `usage` counted for the jobs it ends and the sync requests it releases. The batcher
        sends it with its next claim, in one round trip."""
        usage = usage or BatchUsage({}, [])
        finished = now_rfc3339()
        jobs: list[dict[str, Any]] = []
        results: list[bytes] = []
        for outcome in outcomes:
            job_id = outcome.job_id
            if outcome.error is not None:
                allowed = [JobStatus.RUNNING, JobStatus.CANCELLING]
                jobs.append(
                    {
                        "keys": self._transition_keys(job_id, JobStatus.FAILED),
                        "args": self._transition_args(
                            job_id,
                            allowed,
                            JobStatus.FAILED,
                            finished_at=finished,
                            error=outcome.error,
                        ),
                    }
                )
                _with_usage(jobs[-1], usage.jobs.get(job_id))
                continue
            # The batcher counts the batch's metrics itself: mark them recorded.
            fields = {
                "finished_at": finished,
                "rows_done": outcome.rows,
                "batch_jobs": outcome.batch_jobs,
                "metrics_recorded": 1,
            }
            results.append(outcome.result)
            jobs.append(
                {
                    "keys": self._transition_keys(job_id, JobStatus.SUCCEEDED),
                    "args": self._transition_args(
                        job_id, [JobStatus.RUNNING], JobStatus.SUCCEEDED, **fields
                    ),
                    "cancel": self._transition_args(
                        job_id, [JobStatus.CANCELLING], JobStatus.CANCELLED, **fields
                    ),
                    "result": 3 + len(results),
                }
            )
            _with_usage(jobs[-1], usage.jobs.get(job_id))
        held = {"ttl": usage.ttl_seconds, "held": usage.held}
        return ScriptCall(
            self._finish_inline,
            [LEASES, sync.HELD, usage_keys.TENANT_ROWS],
            [orjson.dumps(jobs), self.retention_seconds, orjson.dumps(held), *results],
        )

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

    def request_cancel(self, job_id: str) -> JobStatus | None:
        """Cancel a queued job at once, or mark a running one `cancelling` for its worker.

        Returns the status after the request (unchanged for a job that had already ended),
        or None when there is no such job.
        """
        finished = now_rfc3339()
        if self.transition(job_id, [JobStatus.QUEUED], JobStatus.CANCELLED, finished_at=finished):
            return JobStatus.CANCELLED
        self.transition(job_id, [JobStatus.RUNNING], JobStatus.CANCELLING)
        record = self.get(job_id)
        if record is None:
            return None
        if (
            record.status == JobStatus.CANCELLING
            and record.input_kind == "file"
            and not self.redis.exists(keys.job_chunks_running(job_id))
        ):
            # No chunk is being scored, and none starts once the job is cancelling: it is over.
            self.finish_cancel(job_id)
            record = self.get(job_id)
        return record.status if record else None

    def finish_cancel(self, job_id: str) -> bool:
        """End a `cancelling` job as cancelled (its worker has stopped)."""
        return self.transition(
            job_id, [JobStatus.CANCELLING], JobStatus.CANCELLED, finished_at=now_rfc3339()
        )

    def delete(self, job_id: str, tenant: str) -> None:
        """Forget a job and everything it keeps in Redis."""
        status = self.redis.hget(keys.job(job_id), "status")
        pipe = self.redis.pipeline(transaction=True)
        if status is not None and decoded(status) not in TERMINAL_STATUSES:
            pipe.hincrby(metric_keys.JOB_STATUS, decoded(status), -1)
        pipe.delete(*keys.all_job_keys(job_id))
        pipe.zrem(keys.tenant_jobs(tenant), job_id)
        pipe.zrem(keys.DEADLINES_ZSET, job_id)
        pipe.zrem(keys.EXPIRY_ZSET, job_id)
        pipe.zrem(keys.FORGET_ZSET, forget_member(job_id, tenant))
        pipe.srem(keys.tenant_inflight(tenant), job_id)
        pipe.publish(keys.EVENTS_CHANNEL, f"{job_id} {keys.DELETED}")
        pipe.execute()

    def expire(self, job_ids: list[str], forget_at: float) -> list[str]:
        """Move the jobs to `expired`, delete the rows they keep in Redis and have them
        forgotten (deleted, listing entry and all) at unix time `forget_at`: two round trips
        for the lot. Returns those that may keep files in storage (all but JSON jobs)."""
        every_other = [status for status in JobStatus if status != JobStatus.EXPIRED]
        pipe = self.redis.pipeline(transaction=False)
        for job_id in job_ids:
            self._transition(
                keys=self._transition_keys(job_id, JobStatus.EXPIRED),
                args=self._transition_args(job_id, every_other, JobStatus.EXPIRED),
                client=pipe,
            )
            pipe.hmget(keys.job(job_id), "tenant", "input_kind")
            pipe.delete(
                keys.job_input(job_id),
                keys.job_result(job_id),
                keys.job_shadow_result(job_id),
                keys.job_errors(job_id),
            )
        found = pipe.execute()[1::3]
        pipe = self.redis.pipeline(transaction=False)
        with_files = []
        for job_id, (tenant, kind) in zip(job_ids, found, strict=True):
            if tenant is not None:
                pipe.zadd(keys.FORGET_ZSET, {forget_member(job_id, decoded(tenant)): forget_at})
            if kind is None or decoded(kind) != "inline":
                with_files.append(job_id)
        pipe.execute()
        return with_files

    def take_due(self, zset: str, now: float, limit: int = 100) -> list[str]:
        """Remove and return ids whose time in `zset` has come (each taken by one sweeper)."""
        ids = cast(list[bytes], self.redis.zrangebyscore(zset, "-inf", now, start=0, num=limit))
        if not ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for job_id in ids:
            pipe.zrem(zset, job_id)
        removed = pipe.execute()
        return [decoded(job_id) for job_id, mine in zip(ids, removed, strict=True) if mine]


def forget_member(job_id: str, tenant: str) -> str:
    """A job's entry in the forget set: the id first (ids hold no space), then its tenant."""
    return f"{job_id} {tenant}"


def _with_usage(job: dict[str, Any], entry: UsageEntry | None) -> None:
    """Attach a job's usage entry (left out when there is none: JSON null is true in Lua)."""
    if entry is not None:
        job["usage"] = entry


def _encode_field(value: Any) -> str:
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)
