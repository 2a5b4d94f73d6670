"""Request and response bodies of the public API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Priority = Literal["high", "normal", "low"]
Output = Literal["prediction", "probabilities"]
WebhookEvent = Literal["job.succeeded", "job.failed", "job.cancelled"]
RESERVED_OUTPUT_COLUMNS = ("prediction",)


class WebhookSpec(BaseModel):
    """Where to send a signed callback when the job ends, and for which events."""

    url: str
    events: list[WebhookEvent] = ["job.succeeded", "job.failed", "job.cancelled"]


class JobOptions(BaseModel):
    """Options every job takes, whatever its input."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model: str = Field(min_length=1, max_length=200, examples=["iris", "iris@2", "iris@production"])
    outputs: list[Output] = Field(default=["prediction"], min_length=1)
    passthrough: list[str] = Field(default=[], max_length=100)
    priority: Priority = "normal"
    metadata: dict[str, Any] = Field(default={})
    webhook: WebhookSpec | None = None
    max_error_rate: float | None = Field(default=None, ge=0.0, le=1.0)

    @field_validator("passthrough")
    @classmethod
    def _no_output_names(cls, value: list[str]) -> list[str]:
        clash = [n for n in value if n in RESERVED_OUTPUT_COLUMNS or n.startswith("proba_")]
        if clash:
            raise ValueError(f"passthrough columns may not be named like outputs: {clash}")
        return value

    @field_validator("metadata")
    @classmethod
    def _small_metadata(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(repr(value)) > 4096:
            raise ValueError("metadata is limited to 4 KiB")
        return value


class JobCreate(JobOptions):
    """A JSON job: options plus rows in exactly one of MLflow's three formats."""

    dataframe_split: dict[str, Any] | None = Field(
        default=None, examples=[{"columns": ["sepal_length"], "data": [[5.1]]}]
    )
    dataframe_records: list[Any] | None = None
    instances: list[Any] | None = None
    input_uri: str | None = Field(
        default=None,
        max_length=2000,
        description="A file the workers read instead of rows: a path under an allowed root, "
        "or a URL of a configured fsspec scheme (e.g. s3://bucket/key.csv).",
    )
    input_format: Literal["csv", "parquet", "jsonl"] | None = Field(
        default=None, description="Format of `input_uri`; default: from its suffix."
    )


class ModelRef(BaseModel):
    """The exact model version a job is scored with."""

    name: str
    version: int


class Progress(BaseModel):
    """Rows counted so far; `rows_total` is null until known."""

    rows_total: int | None
    rows_done: int
    rows_failed: int


class JobPublic(BaseModel):
    """The job object."""

    model_config = ConfigDict(protected_namespaces=())

    id: str
    status: Literal[
        "queued", "running", "succeeded", "failed", "cancelling", "cancelled", "expired"
    ]
    model: ModelRef
    created_at: str
    started_at: str | None
    finished_at: str | None
    progress: Progress
    error: dict[str, Any] | None
    metadata: dict[str, Any]
    priority: Priority
    outputs: list[str]
    passthrough: list[str]
    links: dict[str, str]


class JobList(BaseModel):
    """A page of jobs, newest first; pass `next_cursor` as `cursor` for the next page."""

    data: list[JobPublic]
    next_cursor: str | None


class FeaturePublic(BaseModel):
    """One input column of a model."""

    name: str
    type: Literal["number", "string"]


class ModelVersionPublic(BaseModel):
    """One version of a model with its input schema and output kind."""

    name: str
    version: int
    format: str
    created_at: str
    description: str
    task: Literal["classification", "regression"]
    classes: list[Any] | None
    features: list[FeaturePublic]
    accepts_missing_values: bool
    sha256: str
    size_bytes: int


class ModelPublic(BaseModel):
    """A model: its aliases, the version a bare name resolves to, and every version."""

    name: str
    aliases: dict[str, int]
    default_version: int
    latest_version: int
    versions: list[ModelVersionPublic]


class ModelList(BaseModel):
    """Every model the caller can score."""

    data: list[ModelPublic]
