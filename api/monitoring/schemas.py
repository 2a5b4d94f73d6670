"""Request bodies of the monitoring routes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Window = Literal["1h", "24h", "7d"]


class DriftWebhook(BaseModel):
    """Where drift alerts are sent (signed with the tenant's webhook secret)."""

    url: str = Field(min_length=1, max_length=2048, examples=["https://ops.example.com/drift"])


class MonitoringUpdate(BaseModel):
    """A model's drift alert: a signed `model.drift` webhook at most once per window."""

    model_config = ConfigDict(extra="forbid")

    psi_threshold: float = Field(default=0.2, gt=0, le=10)
    min_rows: int = Field(default=1000, ge=0, description="Rows the window needs before alerting")
    window: Window = "1h"
    webhook: DriftWebhook | None = None


class ReferenceFromJob(BaseModel):
    """Take the reference from the inputs of a succeeded job of the same model."""

    model_config = ConfigDict(extra="forbid")

    job: str = Field(min_length=1, max_length=64, examples=["job_01JD7Q0000000000000000000"])
