"""Webhook deliveries in Redis: what is due, who is sending it, and every attempt made.

A job's delivery is keyed by the job. The job store marks it due (score 0) in the same step
that ends the job; from then on the `WEBHOOKS_DUE` sorted set, scored by due time in
milliseconds, is the one source of truth for what must still be sent. Handing a due delivery
to a worker moves its score a lease ahead; the new score is the worker's token, so a delivery
handed out again after a lost worker is sent by one holder only, and nothing is lost while
Redis keeps its data.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import orjson
import redis

from inferq.jobs import keys
from inferq.redis_client import decoded

PENDING, SUCCEEDED, FAILED, GONE = "pending", "succeeded", "failed", "gone"
FINAL_STATUSES = frozenset({SUCCEEDED, FAILED, GONE})

# Lease every due delivery (up to a limit) to the caller: its new score is the token.
_LEASE_DUE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local token = tonumber(ARGV[1]) + tonumber(ARGV[2])
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], token, id) end
return {token, ids}
"""

# The holder of a token renews its lease for the attempt; a stale token gets nothing.
_CLAIM = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return false end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
"""

# Record an attempt; the token's holder also sets the outcome and the next due time (or none).
_FINISH = """
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 0
end
redis.call('RPUSH', KEYS[3], ARGV[3])
if redis.call('PTTL', KEYS[3]) == -1 then
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[3], ttl) end
end
redis.call('HINCRBY', KEYS[2], 'attempts', 1)
if ARGV[4] == '1' then redis.call('HINCRBY', KEYS[2], 'scheduled_attempts', 1) end
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[2], 'status', ARGV[5], 'next_attempt_at', ARGV[7])
if ARGV[6] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[6], ARGV[1])
end
return 1
"""

# Drop a due entry that has nothing to send, unless someone else holds it now.
_DROP = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then redis.call('ZREM', KEYS[1], ARGV[1]) end
return 1
"""


def now_ms() -> int:
    """The current time in epoch milliseconds (the due set's scores)."""
    return int(time.time() * 1000)


def delivery_id(job_id: str) -> str:
    """The delivery's id, also its `webhook-id`: `msg_` and the job's ULID (one per job)."""
    return "msg_" + job_id.removeprefix("job_")


@dataclass
class Delivery:
    """One webhook message for one job ending, sent until it succeeds, is refused or gives up."""

    id: str
    job_id: str
    tenant: str
    event: str
    url: str
    created_at: str
    body: str
    """The signed JSON, fixed when the job ended so every attempt sends the same bytes."""
    status: str = PENDING
    attempts: int = 0
    scheduled_attempts: int = 0
    """Attempts made by the retry schedule (a manual redelivery is not one of them)."""
    next_attempt_at: str = ""

    @classmethod
    def from_hash(cls, raw: Mapping[bytes | str, bytes | str]) -> Delivery:
        """Decode the delivery hash."""
        fields: dict[str, Any] = {decoded(k): decoded(v) for k, v in raw.items()}
        for name in ("attempts", "scheduled_attempts"):
            fields[name] = int(fields.get(name, 0))
        return cls(**{k: v for k, v in fields.items() if k in cls.__dataclass_fields__})


class DeliveryStore:
    """Reads and changes deliveries and the due set; every hand-over is atomic."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._lease_due = client.register_script(_LEASE_DUE)
        self._claim = client.register_script(_CLAIM)
        self._finish = client.register_script(_FINISH)
        self._drop = client.register_script(_DROP)

    def lease_due(self, now_ms: int, lease_ms: int, limit: int = 100) -> tuple[int, list[str]]:
        """Job ids whose delivery is due, leased to the caller; returns (token, job ids)."""
        token, ids = self._lease_due(keys=[keys.WEBHOOKS_DUE], args=[now_ms, lease_ms, limit])
        return int(token), [i.decode() for i in ids]

    def claim(self, job_id: str, token: int, now_ms: int, lease_ms: int) -> int | None:
        """Renew the lease for an attempt; the new token, or None if the token went stale."""
        renewed = now_ms + lease_ms
        held = self._claim(keys=[keys.WEBHOOKS_DUE], args=[job_id, token, renewed])
        return renewed if held else None

    def drop(self, job_id: str, token: int) -> None:
        """Forget a due entry with nothing to send (job gone, or event not subscribed)."""
        self._drop(keys=[keys.WEBHOOKS_DUE], args=[job_id, token])

    def create(self, delivery: Delivery) -> None:
        """Store a new delivery for as long as its job is kept."""
        key = keys.job_webhook(delivery.job_id)
        ttl_ms = self.redis.pttl(keys.job(delivery.job_id))
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(key, mapping={k: str(v) for k, v in asdict(delivery).items()})
        if ttl_ms > 0:
            pipe.pexpire(key, ttl_ms)
        pipe.execute()

    def get(self, job_id: str) -> Delivery | None:
        """The job's delivery, or None if none was made yet (or the job is gone)."""
        raw = self.redis.hgetall(keys.job_webhook(job_id))
        return Delivery.from_hash(raw) if raw.get(b"id") else None

    def attempts(self, job_id: str) -> list[dict[str, Any]]:
        """Every attempt of the job's delivery, oldest first."""
        return [
            orjson.loads(a) for a in self.redis.lrange(keys.job_webhook_attempts(job_id), 0, -1)
        ]

    def finish(
        self,
        job_id: str,
        token: int,
        attempt: dict[str, Any],
        status: str,
        next_due_ms: int | None,
        next_attempt_at: str = "",
    ) -> bool:
        """Record an attempt and, if the token still holds, the outcome and next due time."""
        reply = self._finish(
            keys=[keys.WEBHOOKS_DUE, keys.job_webhook(job_id), keys.job_webhook_attempts(job_id)],
            args=[
                job_id,
                token,
                orjson.dumps(attempt),
                "1" if attempt.get("trigger") == "scheduled" else "0",
                status,
                "" if next_due_ms is None else next_due_ms,
                next_attempt_at,
            ],
        )
        return reply == 1

    def redeliver(self, job_id: str, now_ms: int) -> bool:
        """Make the job's delivery due now; False when it has no delivery yet."""
        if not self.redis.exists(keys.job_webhook(job_id)):
            return False
        self.redis.zadd(keys.WEBHOOKS_DUE, {job_id: now_ms})
        return True
