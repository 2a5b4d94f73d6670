"""Fetching an MLflow model's files from a tracking server, by `models:/` or `runs:/` URI.

Through MLflow's REST API (no `mlflow` package needed): the registry resolves the URI to an
artifact location, and the server's artifact proxy (`mlflow-artifacts:/`) serves the files.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

_ALIAS = re.compile(r"^models:/(?P<name>[^/@]+)@(?P<alias>[^/]+)$")
_VERSION = re.compile(r"^models:/(?P<name>[^/@]+)/(?P<version>\d+)$")
_RUN = re.compile(r"^runs:/(?P<run_id>[0-9a-zA-Z]+)/(?P<path>.+)$")
#: Most bytes one import downloads (an MLflow model directory, all files).
MAX_IMPORT_BYTES = 1 << 30


class MlflowSourceError(ValueError):
    """The URI is malformed, or names a model, version, alias or run the server does not have."""


class MlflowUnavailable(ConnectionError):
    """The tracking server cannot be reached or failed (502 to the uploader)."""


def fetch_model_files(source: str, tracking_uri: str, timeout: float = 30.0) -> dict[str, bytes]:
    """Every file of the MLflow model `source` names, by its path inside the model directory."""
    if not tracking_uri:
        raise MlflowSourceError(
            "no MLflow tracking server is configured (INFERQ_MLFLOW_TRACKING_URI)"
        )
    with httpx.Client(base_url=tracking_uri.rstrip("/"), timeout=timeout) as client:
        location = _artifact_location(client, source)
        prefix = _proxied_path(location)
        files: dict[str, bytes] = {}
        _download(client, prefix, "", files)
    if not files:
        raise MlflowSourceError(f"{source} resolves to {location}, which holds no files")
    return files


def _artifact_location(client: httpx.Client, source: str) -> str:
    if match := _ALIAS.match(source):
        found = _get(client, "registered-models/alias", dict(match.groupdict()), source)
        version = found["model_version"]["version"]
        return _version_location(client, match["name"], str(version), source)
    if match := _VERSION.match(source):
        return _version_location(client, match["name"], match["version"], source)
    if match := _RUN.match(source):
        return _run_location(client, match["run_id"], match["path"].strip("/"), source)
    raise MlflowSourceError(
        f"{source!r} is not models:/<name>@<alias>, models:/<name>/<version> or "
        "runs:/<run_id>/<path>"
    )


def _version_location(client: httpx.Client, name: str, version: str, source: str) -> str:
    found = _get(
        client, "model-versions/get-download-uri", {"name": name, "version": version}, source
    )
    return str(found["artifact_uri"])


def _run_location(client: httpx.Client, run_id: str, path: str, source: str) -> str:
    """A run's logged model of that name (MLflow 3), else the run's own artifact folder."""
    run = _get(client, "runs/get", {"run_id": run_id}, source)["run"]
    search = {
        "experiment_ids": [run["info"]["experiment_id"]],
        "filter": f"source_run_id = '{run_id}' AND name = '{path}'",
    }
    response = _call(client, "POST", "/api/2.0/mlflow/logged-models/search", json=search)
    if response.status_code == 200:
        models = response.json().get("models") or []
        if models:
            return str(models[0]["info"]["artifact_uri"])
    return f"{run['info']['artifact_uri'].rstrip('/')}/{path}"


def _proxied_path(location: str) -> str:
    """The path under the server's artifact proxy of an `mlflow-artifacts:` location."""
    parts = urlsplit(location)
    if parts.scheme != "mlflow-artifacts":
        raise MlflowSourceError(
            f"the model is stored at {location}; inferq reads models the tracking server serves "
            "(mlflow-artifacts:/, `mlflow server` with its artifact proxy)"
        )
    return parts.path.strip("/")


def _download(client: httpx.Client, prefix: str, relative: str, files: dict[str, bytes]) -> None:
    folder = f"{prefix}/{relative}".rstrip("/")
    listing = _call(client, "GET", "/api/2.0/mlflow-artifacts/artifacts", params={"path": folder})
    _raise_for(listing, folder)
    for entry in listing.json().get("files", []):
        child = f"{relative}/{entry['path']}".lstrip("/")
        if entry.get("is_dir"):
            _download(client, prefix, child, files)
            continue
        response = _call(
            client, "GET", f"/api/2.0/mlflow-artifacts/artifacts/{quote(f'{prefix}/{child}')}"
        )
        _raise_for(response, child)
        files[child] = response.content
        if sum(len(data) for data in files.values()) > MAX_IMPORT_BYTES:
            raise MlflowSourceError("the MLflow model is larger than inferq imports")


def _get(client: httpx.Client, endpoint: str, params: dict[str, Any], source: str) -> Any:
    response = _call(client, "GET", f"/api/2.0/mlflow/{endpoint}", params=params)
    _raise_for(response, source)
    return response.json()


def _call(client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    try:
        return client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise MlflowUnavailable(f"the MLflow tracking server did not answer: {exc}") from exc


def _raise_for(response: httpx.Response, what: str) -> None:
    if response.status_code >= 500:
        raise MlflowUnavailable(f"the MLflow tracking server failed ({response.status_code})")
    if response.status_code >= 400:
        try:
            message = response.json().get("message", response.text)
        except ValueError:
            message = response.text
        raise MlflowSourceError(f"{what} does not resolve: {str(message)[:300]}")
