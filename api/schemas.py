"""Request and response bodies of the public API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from inferq.jobs.public import JobPublic, Priority
from inferq.schema import ContributionsMethod

Output = Literal["prediction", "probabilities", "contributions"]
WebhookEvent = Literal["job.succeeded", "job.failed", "job.cancelled"]
RESERVED_OUTPUT_COLUMNS = ("prediction",)
#: JSON bodies take JSON types as they are: `true` is not the number 1, nor "5" the number 5.
STRICT = ConfigDict(strict=True)


class WebhookSpec(BaseModel):
    """Where to send a signed callback when the job ends, and for which events."""

    url: str = Field(min_length=1, max_length=2048, examples=["https://crm.example.com/hooks"])
    events: list[WebhookEvent] = Field(
        default=["job.succeeded", "job.failed", "job.cancelled"], min_length=1
    )


class JobOptions(BaseModel):
    """Options every job takes, whatever its input."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model: str = Field(min_length=1, max_length=200, examples=["iris", "iris@2", "iris@production"])
    outputs: list[Output] = Field(default=["prediction"], min_length=1)
    contributions_method: ContributionsMethod = Field(
        default="exact",
        examples=["approximate"],
        description="How `contributions` are computed for tree models: `exact` (TreeSHAP) or "
        "`approximate` (Saabas path attributions: about the cost of a prediction). Both sum to "
        "the raw margin; linear models' are exact either way. Only with `contributions` in "
        "`outputs`.",
    )
    passthrough: list[str] = Field(default=[], max_length=100)
    priority: Priority = "normal"
    metadata: dict[str, Any] = Field(default={})
    webhook: WebhookSpec | None = None
    max_error_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    deadline_seconds: float | None = Field(
        default=None, gt=0, description="Fail the job if it has not ended this long after submit"
    )

    @field_validator("passthrough")
    @classmethod
    def _no_output_names(cls, value: list[str]) -> list[str]:
        clash = [
            n for n in value if n in RESERVED_OUTPUT_COLUMNS or n.startswith(("proba_", "contrib_"))
        ]
        if clash:
            raise ValueError(f"passthrough columns may not be named like outputs: {clash}")
        return value

    @field_validator("contributions_method")
    @classmethod
    def _only_with_contributions(cls, value: str, info: ValidationInfo) -> str:
        # Given without `contributions`, the caller would silently get none: say so instead.
        outputs = info.data.get("outputs")
        if outputs is not None and "contributions" not in outputs:
            raise ValueError('applies only when outputs has "contributions"')
        return value

    def asked_contributions_method(self) -> ContributionsMethod | None:
        """How the job's contributions are computed, or None when it asks for none."""
        return self.contributions_method if "contributions" in self.outputs else None

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
    shared: bool = False
    trusted_types: list[str] = []
    contributions: str | None = Field(
        default=None, description="How `contributions` are computed (tree, linear), or null"
    )


class ModelPublic(BaseModel):
    """A model: its aliases, the version a bare name resolves to, and every version."""

    name: str
    aliases: dict[str, int]
    traffic: dict[str, dict[str, Any]] = Field(
        default={},
        description="Each alias with its canary and shadow, as `PUT .../aliases/{alias}` takes",
    )
    default_version: int
    latest_version: int
    versions: list[ModelVersionPublic]
    ready: bool = Field(
        default=True,
        description="KServe v1's readiness: a model listed here can be scored (workers load it "
        "on first use).",
    )
    model_version_status: list[dict[str, Any]] = Field(
        default=[],
        description="TensorFlow Serving's status of each version, newest first (all AVAILABLE).",
    )


class ModelList(BaseModel):
    """Every model the caller can score."""

    data: list[ModelPublic]


class CanaryUpdate(BaseModel):
    """A version that takes a share of an alias's traffic."""

    model_config = STRICT

    version: int = Field(ge=1)
    percent: float = Field(ge=0, le=100, description="Share of jobs and requests, 0 to 100")


class AliasUpdate(BaseModel):
    """The version an alias should point at, and optionally a canary and a shadow beside it
    (a PUT without them clears them; a PUT of an earlier body rolls back to it)."""

    model_config = STRICT

    version: int = Field(ge=1)
    canary: CanaryUpdate | None = None
    shadow: int | None = Field(
        default=None, ge=1, description="Also scores every job, at the lowest priority"
    )


class AliasPromote(BaseModel):
    """Which version to promote: needed only when the alias has both a canary and a shadow."""

    model_config = STRICT

    to: Literal["canary", "shadow"] | None = None


class AliasChange(BaseModel):
    """One change of an alias: when, by whom, and the alias before and after (null: absent)."""

    at: str
    by: str
    action: Literal["put", "delete", "promote"]
    alias: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AliasHistory(BaseModel):
    """A model's alias changes, newest first."""

    data: list[AliasChange]


class WebhookSecretCreate(BaseModel):
    """Options of a new webhook secret (all optional)."""

    model_config = STRICT

    previous_valid_seconds: int | None = Field(
        default=None,
        ge=0,
        le=30 * 24 * 3600,
        description="How long the secrets in use keep signing too (default: the configured "
        "overlap; 0 retires them at once)",
    )


class WebhookSecretPublic(BaseModel):
    """A webhook secret as listed: never its value."""

    id: str
    created_at: str
    expires_at: str | None
    current: bool


class WebhookSecretCreated(WebhookSecretPublic):
    """A new webhook secret, with its value: shown this once."""

    secret: str


class WebhookSecretList(BaseModel):
    """The secrets that sign the tenant's deliveries now, newest (current) first."""

    data: list[WebhookSecretPublic]


class DeliveryAttempt(BaseModel):
    """One try at sending a webhook."""

    number: int
    at: str
    trigger: Literal["scheduled", "manual"]
    status_code: int | None
    latency_ms: float
    error: str | None
    response: str
    next_attempt_at: str | None


class DeliveryPublic(BaseModel):
    """A webhook message for a job's ending and every attempt to send it."""

    id: str
    event: WebhookEvent
    url: str
    status: Literal["pending", "succeeded", "failed", "gone"]
    created_at: str
    next_attempt_at: str | None
    attempts: list[DeliveryAttempt]
    links: dict[str, str]


class DeliveryList(BaseModel):
    """A job's webhook deliveries."""

    data: list[DeliveryPublic]


Scope = Literal["jobs:write", "jobs:read", "models:write", "admin"]


class KeyCreate(BaseModel):
    """A new API key: the tenant it acts for, what it may do, and a name to recognise it by."""

    model_config = STRICT

    tenant: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", examples=["acme"])
    scopes: list[Scope] = Field(min_length=1, examples=[["jobs:write", "jobs:read"]])
    name: str = Field(default="", max_length=200, examples=["crm"])


class KeyPublic(BaseModel):
    """An API key as listed: never the secret, only its first characters (`hint`)."""

    id: str
    tenant: str
    scopes: list[Scope]
    name: str
    created_at: str
    hint: str


class KeyCreated(KeyPublic):
    """A key just created; `key` is shown this once and stored only as a digest."""

    key: str


class KeyList(BaseModel):
    """Live API keys, oldest first."""

    data: list[KeyPublic]


class ProblemError(BaseModel):
    """One place in the request that is wrong."""

    loc: list[str | int]
    msg: str


class ProblemDetails(BaseModel):
    """An error answer (RFC 9457 problem details), sent as application/problem+json."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemError] | None = None


class LimitValues(BaseModel):
    """A tenant's limits; see docs/tenants.md."""

    max_rows_per_job: int
    max_jobs_in_flight: int
    rate_limit_per_second: float
    rate_limit_burst: int


class LimitsUpdate(BaseModel):
    """Limits to give one tenant: null goes back to the default, a field left out stays."""

    model_config = ConfigDict(extra="forbid", strict=True)

    max_rows_per_job: int | None = Field(default=None, ge=1, le=10**15)
    max_jobs_in_flight: int | None = Field(default=None, ge=1, le=10**6)
    rate_limit_per_second: float | None = Field(default=None, ge=0.001, le=10**6)
    rate_limit_burst: int | None = Field(default=None, ge=1, le=10**6)


class TenantLimitsPublic(BaseModel):
    """The limits in force for a tenant, which of them are its own, and its jobs in flight now."""

    tenant: str
    limits: LimitValues
    own: list[str]
    jobs_in_flight: int
