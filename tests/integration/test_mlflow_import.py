"""MLflow models: imported by URI from a real `mlflow server`, or uploaded as an archive."""

from __future__ import annotations

import io
import shutil
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from inferq.redis_server import free_port
from tests.helpers import TenantClients, assert_problem, results_frame, submit, wait_for
from tests.mlflow_server import MlflowServer, available, save_model
from tests.stack import Stack

pytestmark = pytest.mark.skipif(
    not available(), reason="no MLflow virtualenv: run `make mlflow-venv` (make test does)"
)
ROW = {"tenure": 0.5, "spend": 1.0, "visits": -0.2}


@pytest.fixture(scope="module")
def mlflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """A tracking server with a sqlite backend and a local artifact folder."""
    server = MlflowServer(tmp_path_factory.mktemp("mlflow")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def mlflow_stack(tmp_path_factory: pytest.TempPathFactory, mlflow: MlflowServer) -> Iterator[Stack]:
    """A stack whose API imports from the tracking server."""
    stack = Stack(tmp_path_factory.mktemp("mlflow-stack"), mlflow_tracking_uri=mlflow.url)
    with stack.running(workers=1):
        yield stack


@pytest.fixture
def admin(mlflow_stack: Stack) -> Iterator[httpx.Client]:
    """A client of that stack with the admin key."""
    with mlflow_stack.client(timeout=180) as client:
        yield client


def unique(prefix: str) -> str:
    """A model name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _import(client: httpx.Client, name: str, **body: object) -> httpx.Response:
    return client.post(f"/v1/models/{name}/versions", json=body, timeout=180)


def test_models_and_runs_uris_import_a_lightgbm_model_with_its_signature(
    admin: httpx.Client, mlflow: MlflowServer
) -> None:
    """By alias, by version and by run: the native booster is registered and scores rows."""
    registered = unique("churn")
    logged = mlflow.log_model("lightgbm", registered, alias="champion")
    name = unique("imported")
    sources = [
        f"models:/{registered}@champion",
        f"models:/{registered}/{logged['version']}",
        f"runs:/{logged['run_id']}/model",
    ]
    for number, source in enumerate(sources, start=1):
        created = _import(admin, name, source=source)
        assert created.status_code == 201, created.text
        version = created.json()
        assert version["version"] == number and version["format"] == "lightgbm"
        assert [f["name"] for f in version["features"]] == ["tenure", "spend", "visits"]
        assert version["classes"] == [0, 1] and version["contributions"] == "tree"
    job = submit(admin, {"model": name, "outputs": ["prediction"], "dataframe_records": [ROW]})
    assert wait_for(admin, job["id"])["status"] == "succeeded"
    assert results_frame(admin, job["id"])["prediction"].tolist()[0] in (0, 1)


def test_a_pickled_flavor_imports_only_for_an_admin(
    admin: httpx.Client, mlflow: MlflowServer, mlflow_stack: Stack
) -> None:
    """A cloudpickle sklearn model is 403 for a models:write key, 201 for the admin key."""
    registered = unique("pickled")
    mlflow.log_model("sklearn-pickle", registered)
    clients = TenantClients(mlflow_stack)
    try:
        writer = clients(scopes=("models:write", "jobs:write", "jobs:read"))
        refused = _import(writer, unique("pk"), source=f"models:/{registered}/1")
        assert_problem(refused, 403, "pickle")
    finally:
        clients.close()
    created = _import(admin, unique("pk"), source=f"models:/{registered}/1")
    assert created.status_code == 201, created.text
    assert created.json()["format"] == "pickle"


def test_a_skops_flavor_imports_with_the_uploaders_trust(
    admin: httpx.Client, mlflow: MlflowServer
) -> None:
    """MLflow's skops-saved sklearn model loads as skops; nothing from MLmodel is trusted."""
    registered = unique("skops")
    mlflow.log_model("sklearn", registered, alias="prod")
    created = _import(admin, unique("sk"), source=f"models:/{registered}@prod")
    assert created.status_code == 201, created.text
    assert created.json()["format"] == "skops" and created.json()["classes"] == [0, 1]


def test_unresolvable_uris_are_422_and_register_nothing(admin: httpx.Client) -> None:
    """An unknown model, version, alias or run, or a malformed URI, names the problem."""
    name = unique("unresolved")
    for source, mention in [
        ("models:/no-such-model@champion", "no-such-model"),
        ("models:/no-such-model/3", "not found"),
        ("runs:/0123abcd/model", "0123abcd"),
        ("s3://bucket/model", "models:/"),
    ]:
        assert_problem(_import(admin, name, source=source), 422, mention)
    assert admin.get(f"/v1/models/{name}").status_code == 404


def _archive(folder: Path, kind: str) -> bytes:
    if kind == "zip":
        return Path(shutil.make_archive(str(folder), "zip", folder)).read_bytes()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(folder, arcname="model")
    return buffer.getvalue()


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_an_uploaded_mlflow_directory_loads_its_safe_flavor(
    admin: httpx.Client, tmp_path: Path, kind: str
) -> None:
    """A saved LightGBM model directory, archived, registers as a native booster."""
    archive = _archive(save_model("lightgbm", tmp_path / "model"), kind)
    files = {"file": (f"model.{kind}", archive, "application/octet-stream")}
    created = admin.post(
        f"/v1/models/{unique('dir')}/versions", files=files, data={"format": "mlflow"}
    )
    assert created.status_code == 201, created.text
    assert created.json()["format"] == "lightgbm"


def test_an_mlflow_directory_without_a_loadable_flavor_is_422(
    admin: httpx.Client, tmp_path: Path
) -> None:
    """A custom pyfunc model has only python_function: refused, naming its flavors."""
    archive = _archive(save_model("pyfunc", tmp_path / "model"), "zip")
    files = {"file": ("model.zip", archive, "application/octet-stream")}
    name = unique("pyfunc")
    refused = admin.post(f"/v1/models/{name}/versions", files=files, data={"format": "mlflow"})
    assert_problem(refused, 422, "no flavor", "python_function")
    assert admin.get(f"/v1/models/{name}").status_code == 404


def test_a_tracking_server_that_is_down_is_502(tmp_path: Path) -> None:
    """Nothing listens at the configured tracking URI: 502, and nothing is registered."""
    stack = Stack(tmp_path / "down", mlflow_tracking_uri=f"http://127.0.0.1:{free_port()}")
    try:
        stack.start_redis()
        with stack.api_client() as client:
            response = _import(client, "down", source="models:/churn@champion")
            assert_problem(response, 502, "MLflow")
            assert client.get("/v1/models/down").status_code == 404
    finally:
        stack.stop()
