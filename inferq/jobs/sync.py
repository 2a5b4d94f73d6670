"""Synchronous requests on the batchers' lanes: scored like small jobs, but never job records.

A synchronous protocol request (issue 19) travels as one lane entry: a header line the claim
and requeue scripts read (`~<deadline> <priority> <id>`), a line of its options as JSON, then
its rows: as JSON (handed to the batcher as they are, as a job's stored input is), or for an
all-numeric request as the raw little-endian float64 bytes of its `[rows, features]` matrix
(`width` features per row, in the model's order), which the batcher reads back without parsing.
Rows over `APART_BYTES` wait under a key of their own (`rows_key`), set with a plain SET
before the push, and the entry carries only the header and options: every byte a Lua script
receives or returns costs Redis ~2 us per KB (a 1,000-row request's 160 KB took ~0.4 ms in each
of the push and claim scripts, against ~12 us for a plain SET or GET of the same bytes). The
claim then reads them with one MGET per batch.
The API pushes it on the same priority lane as small jobs; a batcher claims it with them,
holds it under a lease (the entry kept in `HELD` until it is answered, so a lost batcher's
request goes back to its lane), scores it in the same batch, and publishes the answer on the
job events channel, where the API process that took the request is waiting for it. No job
hash, input key, event stream or status count is ever written for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import orjson

from inferq.jobs import keys
from inferq.jobs.record import JobRecord

#: Hash of the sync requests a batcher holds: request id -> lane entry (put back if lost).
HELD = f"{keys.PREFIX}:sync:held"
#: Where a sync request's rows wait when they travel apart from its lane entry.
ROWS_PREFIX = f"{keys.PREFIX}:sync:rows:"
#: Rows longer than this many bytes travel apart from the lane entry (see the module's doc):
#: beyond it, the Lua cost of carrying them exceeds the claim's extra MGET.
APART_BYTES = 64 * 1024
#: The first byte of a sync request's lane entry (a job's entry is its ULID).
MARK = b"~"
#: Statuses of the answers published on the job events channel.
ANSWERED = "answered"
REFUSED = "refused"
ANSWERS = frozenset({ANSWERED, REFUSED})

# The claim script's part for a sync request's lane entry (it starts with '~'): one still awaited
# (its deadline, on the API's clock, not passed) is held under a lease like a job, the entry kept
# in the held hash to be put back if the lease runs out; one nobody awaits any more is dropped.
CLAIM_LUA = """
local function sync_claim(entry, now, lease, leases, held, claimed)
  local deadline, id = string.match(entry, '^~(%S+) %S+ ([^\\n]+)')
  if tonumber(deadline) < now then return end
  redis.call('HSET', held, id, entry)
  redis.call('ZADD', leases, now + lease, id)
  claimed[#claimed + 1] = {entry}
end
"""


@dataclass
class SyncRequest:
    """What a batcher needs of a synchronous request: model version, options and rows."""

    id: str
    tenant: str
    protocol: str
    model_name: str
    model_version: int
    rows: bytes
    """The checked rows as columns/data JSON, or with `width` the matrix's float64 bytes."""
    deadline: float
    """Unix time after which nobody waits for the answer (it is dropped unscored)."""
    outputs: list[str] = field(default_factory=lambda: ["prediction"])
    priority: str = "normal"
    rows_total: int = 0
    """How many rows `rows` holds."""
    width: int = 0
    """Features per row when `rows` is a matrix's bytes; 0 when it is JSON."""
    apart: bool = False
    """The rows wait under `rows_key(id)`, not in the lane entry (until the claim reads them,
    `rows` is then empty)."""

    @property
    def rows_key(self) -> str:
        """Where the rows wait when they travel apart."""
        return rows_key(self.id)

    def entry(self) -> bytes:
        """The lane entry: the header the scripts read, the options, the rows (JSON never
        holds a raw line break, so the first two lines split back exactly; the rows, JSON or
        bytes, are all the rest)."""
        head = f"~{self.deadline!r} {self.priority} {self.id}\n".encode()
        options = {
            "tenant": self.tenant,
            "protocol": self.protocol,
            "model": self.model_name,
            "version": self.model_version,
            "outputs": self.outputs,
            "rows": self.rows_total,
        }
        if self.width:
            options["width"] = self.width
        if self.apart:
            options["apart"] = True
        rows = b"" if self.apart else self.rows
        return b"".join((head, orjson.dumps(options), b"\n", rows))

    @classmethod
    def from_entry(cls, entry: bytes) -> SyncRequest:
        """Read a lane entry written by `entry`."""
        head, options, rows = entry.split(b"\n", 2)
        deadline, priority, request_id = head[1:].decode().split(" ")
        body = orjson.loads(options)
        return cls(
            id=request_id,
            tenant=body["tenant"],
            protocol=body["protocol"],
            model_name=body["model"],
            model_version=body["version"],
            rows=rows,
            deadline=float(deadline),
            outputs=body["outputs"],
            priority=priority,
            rows_total=body["rows"],
            width=body.get("width", 0),
            apart=body.get("apart", False),
        )

    def matrix(self) -> np.ndarray | None:
        """The rows as a `[rows, width]` float64 matrix, when they travel as one; else None."""
        if not self.width:
            return None
        return np.frombuffer(self.rows, dtype="<f8").reshape(-1, self.width)

    @staticmethod
    def matrix_bytes(matrix: np.ndarray) -> bytes:
        """A matrix's rows as they travel in the lane entry."""
        return np.ascontiguousarray(matrix, dtype="<f8").tobytes()

    def as_record(self) -> JobRecord:
        """An in-memory job record (never stored) so the batcher scores it like a small job."""
        return JobRecord(
            id=self.id,
            tenant=self.tenant,
            model_name=self.model_name,
            model_version=self.model_version,
            created_at="",
            outputs=self.outputs,
            priority=self.priority,
            rows_total=self.rows_total,
        )


def rows_key(request_id: str) -> str:
    """Where the rows of request `request_id` wait when they travel apart from its entry."""
    return ROWS_PREFIX + request_id


def answer_message(request_id: str, result: bytes) -> bytes:
    """What the batcher publishes for a scored request: its columns/data result."""
    return f"{request_id} {ANSWERED}\n".encode() + result


def refusal_message(request_id: str, error: dict[str, str]) -> bytes:
    """What the batcher publishes for a request it could not score: `{code, message}`."""
    return f"{request_id} {REFUSED}\n".encode() + orjson.dumps(error)
