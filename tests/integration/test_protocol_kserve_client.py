"""KServe v1 and Open Inference Protocol v2 through KServe's own `InferenceRESTClient`.

kserve pins pandas<3, so its client lives in a virtualenv of its own (`make kserve-venv`,
`.venv-kserve`, or INFERQ_TEST_KSERVE_PYTHON), as MLflow's does. Each test runs
`tests/kserve_client.py` with that Python against the suite's API and asserts on what the client
returned or raised.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.helpers import demo_rows, reference_model
from tests.stack import ROOT, Stack

IRIS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def kserve_python() -> Path:
    """The Python of the virtualenv that has the kserve package."""
    configured = os.environ.get("INFERQ_TEST_KSERVE_PYTHON")
    return Path(configured) if configured else ROOT / ".venv-kserve" / "bin" / "python"


pytestmark = pytest.mark.skipif(
    not kserve_python().exists(),
    reason="no KServe virtualenv: run `make kserve-venv` (make test does)",
)


def kserve(stack: Stack, *calls: dict[str, Any]) -> list[dict[str, Any]]:
    """What KServe's client returned for `calls`, made in one process (tests/kserve_client.py)."""
    argv = [str(kserve_python()), str(ROOT / "tests" / "kserve_client.py")]
    done = subprocess.run(  # noqa: S603 - our own script
        [*argv, stack.api_url, stack.admin_key],
        input=json.dumps(calls),
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_v1_predict_gives_the_reference_models_labels(stack: Stack) -> None:
    """`infer` with protocol v1 (`:predict`) of rows in feature order and of rows by feature
    name answers the reference model's labels."""
    rows = demo_rows("iris", 6, seed=11)[IRIS]
    expected = reference_model("iris").predict(rows).tolist()
    lists, records = kserve(
        stack,
        {
            "protocol": "v1",
            "call": "predict",
            "model": "iris",
            "body": {"instances": rows.values.tolist()},
        },
        {
            "protocol": "v1",
            "call": "predict",
            "model": "iris",
            "body": {"instances": rows.to_dict("records")},
        },
    )
    assert lists == {"predictions": expected}
    assert records == {"predictions": expected}


def test_v1_explain_gives_contributions_that_add_up(stack: Stack) -> None:
    """`explain` answers predictions and one explanation per row: per class and feature for the
    iris classifier, and for the diabetes regressor contributions plus bias equal to the
    prediction."""
    flowers = demo_rows("iris", 3, seed=12)[IRIS]
    patients = demo_rows("diabetes", 3, seed=12)
    iris, diabetes = kserve(
        stack,
        {
            "protocol": "v1",
            "call": "explain",
            "model": "iris",
            "body": {"instances": flowers.values.tolist()},
        },
        {
            "protocol": "v1",
            "call": "explain",
            "model": "diabetes",
            "body": {"instances": patients.to_dict("records")},
        },
    )
    assert iris["predictions"] == reference_model("iris").predict(flowers).tolist()
    assert len(iris["explanations"]) == 3
    for explanation in iris["explanations"]:
        assert set(explanation["contributions"]) == {"setosa", "versicolor", "virginica"}
        assert all(list(by_feature) == IRIS for by_feature in explanation["contributions"].values())
    assert np.allclose(diabetes["predictions"], reference_model("diabetes").predict(patients))
    for value, explanation in zip(diabetes["predictions"], diabetes["explanations"], strict=True):
        assert list(explanation["contributions"]) == list(patients.columns)
        assert np.isclose(sum(explanation["contributions"].values()) + explanation["bias"], value)


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_v2_infer_of_an_fp64_tensor_gives_the_reference_models_answers(
    stack: Stack, binary: bool
) -> None:
    """An `InferRequest` with one FP64 [N, 4] `InferInput` (JSON data, or the binary tensor
    extension) gets the reference model's labels and probabilities as the client decodes them,
    with the request id echoed and the model's name."""
    rows = demo_rows("iris", 5, seed=13)[IRIS]
    (answer,) = kserve(
        stack,
        {
            "protocol": "v2",
            "call": "infer",
            "model": "iris",
            "rows": rows.values.tolist(),
            "binary": binary,
            "outputs": ["predict", "predict_proba"],
            "id": "kserve-7",
        },
    )
    model = reference_model("iris")
    assert answer["id"] == "kserve-7"
    assert answer["model_name"] == "iris"  # the client's InferResponse drops model_version
    assert answer["outputs"]["predict"]["datatype"] == "BYTES"
    assert answer["outputs"]["predict"]["data"] == model.predict(rows).tolist()
    assert answer["outputs"]["predict_proba"]["datatype"] == "FP64"
    assert np.allclose(answer["outputs"]["predict_proba"]["data"], model.predict_proba(rows))


def test_server_and_model_readiness(stack: Stack) -> None:
    """v1 `is_model_ready` (`GET /v1/models/{name}`) and v2 `is_model_ready`, `is_server_live`
    and `is_server_ready` are all true for a served model; v2 says not ready for an unknown one."""
    v1, v2, unknown = kserve(
        stack,
        {"protocol": "v1", "call": "ready", "model": "iris"},
        {"protocol": "v2", "call": "ready", "model": "iris"},
        {"protocol": "v2", "call": "ready", "model": "no_such_model"},
    )
    assert v1 == {"model_ready": True}
    assert v2 == {"model_ready": True, "server_live": True, "server_ready": True}
    assert unknown["model_ready"] is False


def test_errors_surface_as_the_clients_http_status_errors(stack: Stack) -> None:
    """An unknown model is 404 (v1 and v2 infer, v1 `is_model_ready`), three features for a
    four-feature model 400, and no key 401: each raised by the client as `HTTPStatusError`,
    whose message carries our `{"error"}` text."""
    row = [[5.1, 3.5, 1.4, 0.2]]
    short = [[5.1, 3.5, 1.4]]
    results = kserve(
        stack,
        {"protocol": "v1", "call": "predict", "model": "no_such_model", "body": {"instances": row}},
        {"protocol": "v2", "call": "infer", "model": "no_such_model", "rows": row},
        {"protocol": "v1", "call": "predict", "model": "iris", "body": {"instances": short}},
        {"protocol": "v2", "call": "infer", "model": "iris", "rows": short},
        {"protocol": "v1", "call": "ready", "model": "no_such_model"},
        {
            "protocol": "v1",
            "call": "predict",
            "model": "iris",
            "body": {"instances": row},
            "key": "",
        },
        {"protocol": "v2", "call": "infer", "model": "iris", "rows": row, "key": ""},
    )
    statuses = [(r.get("raised"), r.get("status")) for r in results]
    assert statuses == [
        ("HTTPStatusError", 404),
        ("HTTPStatusError", 404),
        ("HTTPStatusError", 400),
        ("HTTPStatusError", 400),
        ("HTTPStatusError", 404),
        ("HTTPStatusError", 401),
        ("HTTPStatusError", 401),
    ]
    messages = [r["message"] for r in results]
    assert "no model named 'no_such_model'" in messages[0]
    assert "no_such_model" in messages[1]
    assert "row has 3 values, expected 4" in messages[2]
    assert "3 features per row; the model expects 4" in messages[3]
    assert all("API key is required" in message for message in messages[5:])
