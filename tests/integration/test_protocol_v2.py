"""Open Inference Protocol v2 through the real `tritonclient.http`, JSON and binary modes."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from tests.helpers import demo_rows, reference_model
from tests.integration.test_metrics import eventually, scrape
from tests.stack import Stack

IRIS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


@pytest.fixture
def client(stack: Stack) -> Iterator[triton.InferenceServerClient]:
    """A tritonclient of the stack's API."""
    url = stack.api_url.removeprefix("http://")
    client = triton.InferenceServerClient(url=url, network_timeout=60)
    try:
        yield client
    finally:
        client.close()


def auth(stack: Stack) -> dict[str, str]:
    """The stack's admin key as tritonclient passes headers."""
    return {"Authorization": f"Bearer {stack.admin_key}"}


def matrix_input(values: np.ndarray, binary: bool, dtype: str = "FP64") -> triton.InferInput:
    """One [N, F] tensor."""
    tensor = triton.InferInput("input-0", list(values.shape), dtype)
    tensor.set_data_from_numpy(values, binary_data=binary)
    return tensor


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_an_n_by_f_tensor_is_scored_like_the_reference_model(
    stack: Stack, client: triton.InferenceServerClient, binary: bool
) -> None:
    """Labels and probabilities of 5 iris rows equal the reference model's; the id is echoed."""
    rows = demo_rows("iris", 5, seed=3)
    values = rows[IRIS].to_numpy(dtype=np.float64)
    outputs = [
        triton.InferRequestedOutput("predict", binary_data=binary),
        triton.InferRequestedOutput("predict_proba", binary_data=binary),
    ]
    result = client.infer(
        "iris",
        [matrix_input(values, binary)],
        outputs=outputs,
        request_id="req-7",
        headers=auth(stack),
    )
    model = reference_model("iris")
    labels = [v.decode() if isinstance(v, bytes) else v for v in result.as_numpy("predict")]
    assert labels == model.predict(rows[IRIS]).tolist()
    assert np.allclose(result.as_numpy("predict_proba"), model.predict_proba(rows[IRIS]))
    response = result.get_response()
    assert response["id"] == "req-7"
    assert response["model_name"] == "iris" and response["model_version"] == "1"


def test_one_tensor_per_feature_answers_in_binary_by_default(
    stack: Stack, client: triton.InferenceServerClient
) -> None:
    """FP32 tensors named by feature, no outputs named: tritonclient asks for binary outputs and
    reads `predict` from them."""
    rows = demo_rows("diabetes", 3, seed=1)
    inputs = []
    for name in rows.columns:
        tensor = triton.InferInput(name, [len(rows)], "FP32")
        tensor.set_data_from_numpy(rows[name].to_numpy(dtype=np.float32), binary_data=True)
        inputs.append(tensor)
    result = client.infer("diabetes", inputs, model_version="1", headers=auth(stack))
    expected = reference_model("diabetes").predict(rows.astype(np.float32).astype(np.float64))
    assert np.allclose(result.as_numpy("predict"), expected)


def test_health_metadata_and_ready_answer_as_the_protocol_says(
    stack: Stack, client: triton.InferenceServerClient
) -> None:
    """Server live and ready without a key; model metadata lists one input per feature plus
    the 2-D alternative, and the outputs."""
    assert client.is_server_live() and client.is_server_ready()
    assert client.get_server_metadata()["name"] == "inferq"
    assert client.is_model_ready("iris", headers=auth(stack))
    meta = client.get_model_metadata("iris", headers=auth(stack))
    assert meta["name"] == "iris" and "1" in meta["versions"]
    assert [i["name"] for i in meta["inputs"]] == [*IRIS, "input-0"]
    assert meta["inputs"][-1]["shape"] == [-1, 4]
    assert [o["name"] for o in meta["outputs"]] == ["predict", "predict_proba"]


def test_a_sync_request_is_counted_by_protocol_and_writes_no_job(
    stack: Stack, client: triton.InferenceServerClient, api: httpx.Client
) -> None:
    """An answered infer adds to `inferq_sync_requests_total{protocol="v2",code="200"}` and
    leaves no job hash, job event or status count behind."""
    redis = stack.redis()
    jobs_before = set(redis.scan_iter("inferq:job:*"))
    counts_before = redis.hgetall("inferq:metrics:job_status")
    key = ("inferq_sync_requests_total", (("code", "200"), ("protocol", "v2")))
    before = scrape(api).get(key, 0)
    values = demo_rows("iris", 1)[IRIS].to_numpy(dtype=np.float64)
    client.infer("iris", [matrix_input(values, False)], headers=auth(stack))
    eventually(lambda: scrape(api).get(key, 0) >= before + 1)
    assert set(redis.scan_iter("inferq:job:*")) == jobs_before
    assert redis.hgetall("inferq:metrics:job_status") == counts_before
    assert not redis.hgetall("inferq:sync:held")


def test_errors_come_back_in_the_protocol_shape(
    stack: Stack, client: triton.InferenceServerClient
) -> None:
    """Unknown model 404, wrong feature count 400, missing key 401: tritonclient reads each
    `{"error"}` body."""
    values = demo_rows("iris", 2)[IRIS].to_numpy(dtype=np.float64)
    cases = [
        ("nope", values, auth(stack), "404", "nope"),
        ("iris", values[:, :3], auth(stack), "400", "expects 4"),
        ("iris", values, {}, "401", "API key"),
    ]
    for model, data, headers, status, mention in cases:
        with pytest.raises(InferenceServerException) as caught:
            client.infer(model, [matrix_input(data, False)], headers=headers)
        assert caught.value.status() == status, caught.value
        assert mention in caught.value.message()
