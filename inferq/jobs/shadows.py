"""The shadow lane: small jobs a shadow version scores too, at the lowest priority.

When a batch ends, each succeeded job whose alias has a shadow is offered to one Redis list.
A shadow thread in each worker process (at a lower OS priority than the batcher) takes from it
only when every job lane is empty, so shadow work comes after all real work.
Under load the list fills: an offer to a full lane (`shadow_max_queued`), and an entry that
waited longer than `shadow_max_delay_seconds`, are dropped and counted as shed
(`inferq_shadow_rows_shed_total`). Shadow work holds no lease: a worker lost while scoring it
loses it, and the job, already ended, is not touched.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import orjson
import redis

from inferq.jobs import keys
from inferq.jobs.pending import PRIORITY_LANES, lane
from inferq.jobs.record import JobRecord
from inferq.metrics import keys as metric_keys
from inferq.redis_client import ScriptCall, Write
from inferq.schema import ContributionsMethod

SHADOW_LANE = f"{keys.PREFIX}:pending:shadow"

# KEYS: the lane, the metrics counters. ARGV: the lane's capacity, then per entry: the entry, its
# shed counter field and rows. Pushes while the lane has room, else counts the rows shed.
_OFFER = """
local room = tonumber(ARGV[1]) - redis.call('LLEN', KEYS[1])
for i = 2, #ARGV, 3 do
  if room > 0 then
    redis.call('RPUSH', KEYS[1], ARGV[i])
    room = room - 1
  else
    redis.call('HINCRBY', KEYS[2], ARGV[i + 1], ARGV[i + 2])
  end
end
return room
"""

# KEYS: the lane, the three job lanes. ARGV: how many, the job key prefix, the fewest entries
# worth a batch, the time now, the age (s) after which fewer will do. Answers {entry, input
# rows, primary's result} per entry taken (an entry is '<job id> <queued at> <JSON>'); nothing
# while any job lane holds work (shadow work comes last), nor while the lane holds fewer than
# the fewest and its oldest entry is younger than the age (shadow work is scored in few, full
# batches).
_CLAIM = """
local waiting = redis.call('LLEN', KEYS[1])
if waiting == 0 then return {} end
for i = 2, 4 do
  if redis.call('LLEN', KEYS[i]) > 0 then return {} end
end
if waiting < tonumber(ARGV[3]) then
  local since = tonumber(string.match(redis.call('LINDEX', KEYS[1], 0), '^%S+ (%S+)'))
  if since and tonumber(ARGV[4]) - since < tonumber(ARGV[5]) then return {} end
end
local entries = redis.call('LPOP', KEYS[1], ARGV[1])
if not entries then return {} end
local taken = {}
for _, entry in ipairs(entries) do
  local job = ARGV[2] .. string.match(entry, '^(%S+)')
  taken[#taken + 1] = {entry, redis.call('GET', job .. ':input'),
    redis.call('GET', job .. ':result')}
end
return taken
"""


@dataclass
class ShadowWork:
    """One job's shadow scoring: what to score it with and where its answer goes."""

    id: str
    tenant: str
    model: str
    version: int
    """The alias's version, which scored the job."""
    shadow: int
    alias: str
    rows: int
    outputs: list[str] = field(default_factory=lambda: ["prediction"])
    contributions_method: ContributionsMethod | None = None
    passthrough: list[str] = field(default_factory=list)
    expires_at: float | None = None
    queued_at: float = 0.0

    @classmethod
    def of(cls, record: JobRecord, rows: int) -> ShadowWork:
        """The shadow work of a job that has a shadow version."""
        assert record.shadow_version is not None, "only jobs with a shadow are offered"
        return cls(
            id=record.id,
            tenant=record.tenant,
            model=record.model_name,
            version=record.model_version,
            shadow=record.shadow_version,
            alias=record.model_alias or "",
            rows=rows,
            outputs=record.outputs,
            contributions_method=record.contributions_method,
            passthrough=record.passthrough,
            expires_at=record.expires_at,
            queued_at=time.time(),
        )

    def entry(self) -> bytes:
        """The lane entry: the job id and when it was queued (read by the claim), then all of
        it as JSON."""
        head = f"{self.id} {self.queued_at!r} ".encode()
        return head + orjson.dumps(asdict(self))

    @classmethod
    def from_entry(cls, entry: bytes) -> ShadowWork:
        """Read `entry`'s form."""
        return cls(**orjson.loads(entry.split(b" ", 2)[2]))

    def record(self) -> JobRecord:
        """An in-memory job record (never stored) to score the rows with the shadow version."""
        return JobRecord(
            id=self.id,
            tenant=self.tenant,
            model_name=self.model,
            model_version=self.shadow,
            created_at="",
            outputs=self.outputs,
            contributions_method=self.contributions_method,
            passthrough=self.passthrough,
        )


def shed_field(model: str, version: int) -> str:
    """The counter of shadow rows shed for one shadow version."""
    return metric_keys.counter_field("shadow_rows_shed", model=model, version=str(version))


@dataclass
class ClaimedShadow:
    """Shadow work taken from the lane, with the job's input rows and primary result (None
    when gone)."""

    work: ShadowWork
    rows: bytes | None
    primary: bytes | None


class ShadowLane:
    """Offers and takes shadow work (see the module's docstring)."""

    def __init__(
        self, client: redis.Redis, capacity: int, batch_jobs: int = 1, wait_seconds: float = 0.0
    ) -> None:
        self.redis = client
        self.capacity = capacity
        self.batch_jobs = batch_jobs
        """The fewest entries `claim` takes, unless the oldest waited `wait_seconds`."""
        self.wait_seconds = wait_seconds
        self._offer = client.register_script(_OFFER)
        self._claim = client.register_script(_CLAIM)

    def offer_call(self, works: list[ShadowWork]) -> ScriptCall | Write:
        """Offering shadow work (pushed, or shed when the lane is full) as a pipeline step."""
        if not works:
            return lambda pipe: None
        args: list[object] = [self.capacity]
        for work in works:
            args += [work.entry(), shed_field(work.model, work.shadow), work.rows]
        return ScriptCall(self._offer, [SHADOW_LANE, metric_keys.COUNTERS], args)

    def claim(self, count: int) -> list[ClaimedShadow]:
        """Take up to `count` entries, oldest first (none while too few and too young)."""
        reply = self._claim(
            keys=[SHADOW_LANE, *(lane(priority) for priority in PRIORITY_LANES)],
            args=[
                count,
                f"{keys.PREFIX}:job:",
                self.batch_jobs,
                repr(time.time()),
                self.wait_seconds,
            ],
        )
        return [
            ClaimedShadow(ShadowWork.from_entry(entry), rows or None, primary or None)
            for entry, rows, primary in reply
        ]

    def shed(self, works: list[ShadowWork]) -> None:
        """Count shadow work dropped after it was taken (it waited too long)."""
        pipe = self.redis.pipeline(transaction=False)
        for work in works:
            pipe.hincrby(metric_keys.COUNTERS, shed_field(work.model, work.shadow), work.rows)
        pipe.execute()
