"""MLflow's scoring protocol: the bodies MLflow's client builds (`dump_input_data`), CSV, 415,
the health endpoints, and `/invocations` with MLflow's own `ScoringServerClient` when an MLflow
virtualenv is at hand (INFERQ_TEST_MLFLOW_PYTHON or `.venv-mlflow`, as issue 18's tests use:
MLflow pins an older pyarrow than inferq, so it is not in requirements-dev.txt)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.helpers import demo_rows, reference_model
from tests.stack import ROOT, Stack

IRIS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
URL = "/v1/models/iris/invocations"


def test_the_bodies_mlflows_client_builds_are_scored(api: httpx.Client) -> None:
    """A DataFrame (`dataframe_split` with its index), records, an array as `inputs`, columns
    as `inputs`, and `instances` all give the reference model's labels."""
    rows = demo_rows("iris", 4, seed=6)
    labels = reference_model("iris").predict(rows[IRIS]).tolist()
    bodies = [
        {"dataframe_split": rows[IRIS].to_dict(orient="split")},
        {"dataframe_records": rows[IRIS].to_dict("records")},
        {"inputs": rows[IRIS].to_numpy().tolist()},
        {"inputs": {name: rows[name].tolist() for name in IRIS}},
        {"instances": rows[IRIS].to_numpy().tolist()},
    ]
    for body in bodies:
        response = api.post(URL, json=body)
        assert response.status_code == 200, (body, response.text)
        assert response.json() == {"predictions": labels}, body


def test_params_outputs_picks_probabilities(api: httpx.Client) -> None:
    """`params: {"outputs": "probabilities"}` answers each row's class probabilities."""
    rows = demo_rows("iris", 3, seed=7)
    body = {
        "dataframe_records": rows[IRIS].to_dict("records"),
        "params": {"outputs": "probabilities"},
    }
    response = api.post(URL, json=body)
    assert np.allclose(
        response.json()["predictions"], reference_model("iris").predict_proba(rows[IRIS])
    )


def test_csv_is_scored_and_other_media_types_are_415(api: httpx.Client) -> None:
    """`text/csv` with a header row scores; `text/plain` is 415 in MLflow's error shape."""
    rows = demo_rows("iris", 3, seed=8)
    csv = rows[IRIS].to_csv(index=False).encode()
    response = api.post(URL, content=csv, headers={"content-type": "text/csv"})
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": reference_model("iris").predict(rows[IRIS]).tolist()}
    refused = api.post(URL, content=csv, headers={"content-type": "text/plain"})
    assert refused.status_code == 415
    assert refused.json()["error_code"] == "BAD_REQUEST" and "text/csv" in refused.json()["message"]


def test_health_endpoints_and_an_unset_invocations_model(api: httpx.Client) -> None:
    """`/ping`, `/health` and `/version` answer 200; `/invocations` without a configured model
    is a 404 RESOURCE_DOES_NOT_EXIST."""
    for path in ("/ping", "/health", "/version"):
        assert httpx.get(f"{api.base_url}{path}").status_code == 200, path
    response = api.post("/invocations", json={"instances": [[5.1, 3.5, 1.4, 0.2]]})
    assert response.status_code == 404
    assert response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


#: MLflow's Python: INFERQ_TEST_MLFLOW_PYTHON, else `.venv-mlflow` (issue 18's MLflow virtualenv).
_LOCAL_MLFLOW = ROOT / ".venv-mlflow" / "bin" / "python"
MLFLOW_PYTHON = os.environ.get("INFERQ_TEST_MLFLOW_PYTHON") or (
    str(_LOCAL_MLFLOW) if _LOCAL_MLFLOW.exists() else ""
)
CLIENT_SCRIPT = """
import json, sys
import pandas as pd
from mlflow.pyfunc.scoring_server.client import ScoringServerClient
client = ScoringServerClient("127.0.0.1", int(sys.argv[1]))
client.wait_server_ready(timeout=30)
frame = pd.DataFrame(json.loads(sys.argv[2]))
print(json.dumps(client.invoke(frame).get_predictions(predictions_format="ndarray").tolist()))
"""


@pytest.mark.skipif(not MLFLOW_PYTHON, reason="INFERQ_TEST_MLFLOW_PYTHON names no MLflow Python")
def test_mlflows_own_scoring_client_scores_through_invocations(tmp_path: Path) -> None:
    """MLflow's `ScoringServerClient` (no key: auth is off here) gets the reference's labels
    from `/invocations`, served by INFERQ_INVOCATIONS_MODEL."""
    stack = Stack(tmp_path / "s", invocations_model="iris", auth_enabled="false")
    with stack.running(workers=1):
        rows = demo_rows("iris", 3, seed=9)[IRIS]
        port = stack.api_url.rsplit(":", 1)[1]
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        done = subprocess.run(
            [MLFLOW_PYTHON, "-c", CLIENT_SCRIPT, port, rows.to_json(orient="columns")],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        predictions = json.loads(done.stdout.strip().splitlines()[-1])
        assert [p[0] if isinstance(p, list) else p for p in predictions] == (
            reference_model("iris").predict(rows).tolist()
        )
