"""Request and response bodies of the usage report."""

from __future__ import annotations

from pydantic import BaseModel, Field


class UsageCounts(BaseModel):
    """What a tenant used: jobs and sync requests taken, rows, CPU time and bytes."""

    jobs: int = Field(description="Jobs accepted (JSON, file and input_uri jobs).")
    sync_requests: int = Field(description="Synchronous protocol requests taken for scoring.")
    rows_scored: int = Field(description="Rows scored, jobs and sync requests alike.")
    rows_failed: int = Field(description="Rows that could not be scored.")
    cpu_seconds: float = Field(description="Thread CPU time of the predict calls, in seconds.")
    bytes_in: int = Field(description="Request bodies of jobs and sync requests, in bytes.")
    bytes_out: int = Field(description="Results, errors and sync answers sent, in bytes.")


class UsageLinePublic(UsageCounts):
    """The usage of one day (`day`) or of one model (`model`)."""

    day: str | None = Field(default=None, examples=["2025-06-01"])
    model: str | None = Field(default=None, examples=["churn"])


class UsageReport(BaseModel):
    """A tenant's usage from `from` to `to` (UTC days, both included), by day or by model."""

    tenant: str
    from_: str = Field(alias="from", examples=["2025-06-01"])
    to: str = Field(examples=["2025-06-30"])
    group_by: str = Field(examples=["day"])
    data: list[UsageLinePublic]
    total: UsageCounts
