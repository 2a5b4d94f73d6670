"""The job record: what a job is, and its encoding as a Redis hash."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

from inferq.redis_client import decoded
from inferq.schema import ContributionsMethod


class JobStatus(StrEnum):
    """Where a job is in its life; see API.md for the meaning of each."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


TERMINAL_STATUSES = frozenset(
    {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.EXPIRED}
)

_JSON_FIELDS = ("outputs", "passthrough", "metadata", "webhook", "error")
_INT_FIELDS = ("model_version", "rows_done", "rows_failed", "attempts", "shadow_version")
_FLOAT_FIELDS = ("max_error_rate", "expires_at", "deadline_at")


@dataclass
class JobRecord:
    """One prediction job as stored; the API's job object is a view of it."""

    id: str
    tenant: str
    model_name: str
    model_version: int
    created_at: str
    status: JobStatus = JobStatus.QUEUED
    input_kind: str = "inline"
    """``inline`` (rows in Redis, small JSON jobs) or ``file`` (a file in storage)."""
    input_location: str | None = None
    """Storage key or URL of the input file, for file jobs."""
    result_location: str | None = None
    """Storage key of the scored file, for file jobs."""
    input_format: str | None = None
    """``csv``, ``parquet`` or ``jsonl`` for file jobs."""
    chunks_total: int | None = None
    """How many chunks a file job was cut into; None while its input is still being cut."""
    outputs: list[str] = field(default_factory=lambda: ["prediction"])
    contributions_method: ContributionsMethod | None = None
    """``exact`` or ``approximate`` when `outputs` has ``contributions``; None: none asked (or
    a job from before the option: scored exactly)."""
    passthrough: list[str] = field(default_factory=list)
    priority: str = "normal"
    max_error_rate: float = 0.0
    metadata: dict[str, Any] = field(default_factory=dict)
    webhook: dict[str, Any] | None = None
    started_at: str | None = None
    finished_at: str | None = None
    rows_total: int | None = None
    rows_done: int = 0
    rows_failed: int = 0
    error: dict[str, Any] | None = None
    """Why the job failed: ``{"code": ..., "message": ...}``."""
    expires_at: float | None = None
    """Unix time when the job's inputs and results are deleted and it reports `expired`."""
    deadline_at: float | None = None
    """Unix time by which the job must have ended, else it fails as `deadline_exceeded`."""
    attempts: int = 0
    """Times a worker claimed the job (more than one after a lost worker)."""
    model_alias: str | None = None
    """The alias the model reference went through, when it had a canary or shadow."""
    canary: bool = False
    """The job went to its alias's canary version (`models.routing`)."""
    shadow_version: int | None = None
    """The version that also scores the job's input, for comparison only (None: no shadow)."""

    @property
    def terminal(self) -> bool:
        """Whether the job has ended for good."""
        return self.status in TERMINAL_STATUSES

    def visible_status(self, now: float) -> JobStatus:
        """The status to show: `expired` once the retention period has passed."""
        if self.expires_at is not None and now >= self.expires_at:
            return JobStatus.EXPIRED
        return self.status

    def to_hash(self) -> dict[str, str]:
        """The record as Redis hash fields (None fields are left out)."""
        encoded: dict[str, str] = {}
        for name in self.__dataclass_fields__:  # not asdict(): it deep-copies every value
            value = getattr(self, name)
            if value is None or value is False:  # absent reads back as the default
                continue
            if name in _JSON_FIELDS:
                encoded[name] = orjson.dumps(value).decode()
            else:
                encoded[name] = str(value)
        return encoded

    @classmethod
    def from_flat(cls, flat: list[bytes]) -> JobRecord | None:
        """Decode HGETALL's reply as a script returns it (field, value, ...); None when empty."""
        return cls.from_hash(dict(zip(flat[::2], flat[1::2], strict=True))) if flat else None

    @classmethod
    def from_hash(cls, raw: Mapping[bytes | str, bytes | str]) -> JobRecord:
        """Decode a record read with HGETALL (fields it does not know, as `owner`, are left)."""
        values: dict[str, Any] = {}
        for key, value in raw.items():
            name = decoded(key)
            decode = _DECODERS.get(name)
            if decode is not None:
                values[name] = decode(decoded(value))
        return cls(**values)


def _decoder(name: str) -> Callable[[str], Any]:
    """How a record field's hash value reads back."""
    if name in _JSON_FIELDS:
        return orjson.loads
    if name in _INT_FIELDS or name in ("rows_total", "chunks_total"):
        return int
    if name in _FLOAT_FIELDS:
        return float
    if name == "canary":
        return lambda text: text == "True"
    if name == "status":
        return JobStatus
    return str


#: Each field's decoder, by name: a record is read per job by the API and the batchers.
_DECODERS: dict[str, Callable[[str], Any]] = {
    name: _decoder(name) for name in JobRecord.__dataclass_fields__
}
