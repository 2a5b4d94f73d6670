"""Open Inference Protocol v2 through the real `tritonclient.http`, JSON and binary modes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import numpy as np
import orjson
import pandas as pd
import pytest
import skops.io
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from inferq.storage import Storage
from models.artifacts import untrusted_types
from models.registry import ModelRegistry
from models.schema import describe
from tests.helpers import demo_rows, reference_model, results_frame, submit, wait_for
from tests.integration.test_metrics import eventually, scrape
from tests.model_fixtures import categorical_pipeline
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


@pytest.fixture(scope="module")
def plans_model(stack: Stack) -> str:
    """A model with a category string feature (`plan`) and a number (`age`), registered."""
    name = f"plans-{uuid.uuid4().hex[:8]}"
    model = categorical_pipeline()
    artifact = skops.io.dumps(model)
    registry = ModelRegistry(stack.redis(), Storage(stack.settings.data_url))
    registry.register(
        name, artifact, "skops", describe(model), trusted_types=untrusted_types(artifact)
    )
    return name


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_bytes_tensors_carry_category_strings(
    stack: Stack, client: triton.InferenceServerClient, plans_model: str, binary: bool
) -> None:
    """`plan` as a BYTES tensor and `age` as INT32 score like the pipeline itself; the labels
    come back as BYTES."""
    frame = pd.DataFrame({"plan": ["basic", "pro", "team", "pro"], "age": [3, 17, 25, 8]})
    plan = triton.InferInput("plan", [len(frame)], "BYTES")
    plan.set_data_from_numpy(frame["plan"].to_numpy(dtype=object), binary_data=binary)
    age = triton.InferInput("age", [len(frame)], "INT32")
    age.set_data_from_numpy(frame["age"].to_numpy(dtype=np.int32), binary_data=binary)
    outputs = [
        triton.InferRequestedOutput("predict", binary_data=binary),
        triton.InferRequestedOutput("predict_proba", binary_data=binary),
    ]
    result = client.infer(plans_model, [plan, age], outputs=outputs, headers=auth(stack))
    model = categorical_pipeline()
    expected = frame.astype({"age": float})
    labels = [v.decode() if isinstance(v, bytes) else v for v in result.as_numpy("predict")]
    assert labels == model.predict(expected).tolist()
    assert np.allclose(result.as_numpy("predict_proba"), model.predict_proba(expected))
    meta = client.get_model_metadata(plans_model, headers=auth(stack))
    assert [(i["name"], i["datatype"]) for i in meta["inputs"][:2]] == [
        ("plan", "BYTES"),
        ("age", "FP64"),
    ]


def test_a_binary_answer_carries_the_header_length(stack: Stack) -> None:
    """With `binary_data_output`, the answer is the JSON header of the announced length, then
    the outputs' bytes: FP64 probabilities, little-endian."""
    body = {
        "inputs": [
            {"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [5.1, 3.5, 1.4, 0.2]}
        ],
        "outputs": [{"name": "predict_proba"}],
        "parameters": {"binary_data_output": True},
    }
    with stack.client(timeout=30) as api:
        response = api.post("/v2/models/iris/infer", json=body)
    assert response.status_code == 200, response.text
    length = int(response.headers["inference-header-content-length"])
    header = orjson.loads(response.content[:length])
    (output,) = header["outputs"]
    assert output["shape"] == [1, 3] and output["parameters"]["binary_data_size"] == 24
    proba = np.frombuffer(response.content[length:], dtype="<f8")
    frame = pd.DataFrame([body["inputs"][0]["data"]], columns=IRIS)
    assert np.allclose(proba, reference_model("iris").predict_proba(frame)[0])


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_many_numeric_rows_score_as_the_same_rows_as_a_job(
    stack: Stack, client: triton.InferenceServerClient, api: httpx.Client, binary: bool
) -> None:
    """1,000 rows in one FP64 tensor (carried as a float64 matrix end to end) get the very
    labels and probabilities the same rows get as a JSON job."""
    rows = demo_rows("iris", 1000, seed=11)[IRIS]
    outputs = [
        triton.InferRequestedOutput("predict", binary_data=binary),
        triton.InferRequestedOutput("predict_proba", binary_data=binary),
    ]
    values = rows.to_numpy(dtype=np.float64)
    result = client.infer(
        "iris", [matrix_input(values, binary)], outputs=outputs, headers=auth(stack)
    )
    job = submit(
        api,
        {
            "model": "iris",
            "outputs": ["prediction", "probabilities"],
            "dataframe_split": {"columns": IRIS, "data": values.tolist()},
        },
    )
    assert wait_for(api, job["id"])["status"] == "succeeded"
    table = results_frame(api, job["id"])
    labels = [v.decode() if isinstance(v, bytes) else v for v in result.as_numpy("predict")]
    assert labels == table["prediction"].tolist()
    probabilities = table[[c for c in table.columns if c.startswith("proba_")]].to_numpy()
    assert np.array_equal(result.as_numpy("predict_proba"), probabilities)
    assert labels == reference_model("iris").predict(rows).tolist()


def binary_infer(stack: Stack, model: str, inputs: list[triton.InferInput]) -> httpx.Response:
    """A raw infer of binary tensors, as tritonclient would send it."""
    raw, header_length = triton.InferenceServerClient.generate_request_body(inputs)
    headers = {**auth(stack), "Inference-Header-Content-Length": str(header_length)}
    return httpx.post(
        f"{stack.api_url}/v2/models/{model}/infer", content=raw, headers=headers, timeout=60
    )


def feature_tensors(rows: pd.DataFrame, values: np.ndarray) -> list[triton.InferInput]:
    """One binary FP64 tensor per feature (checked as Python rows on the API)."""
    tensors = []
    for i, name in enumerate(rows.columns):
        tensor = triton.InferInput(name, [len(values)], "FP64")
        tensor.set_data_from_numpy(np.ascontiguousarray(values[:, i]), binary_data=True)
        tensors.append(tensor)
    return tensors


@pytest.mark.parametrize(
    ("bad", "mention"),
    [
        (np.nan, "missing value, and the model does not accept missing values"),
        (np.inf, "expected a finite number"),
        (-np.inf, "expected a finite number"),
    ],
    ids=["nan", "inf", "-inf"],
)
def test_a_bad_value_in_a_matrix_is_refused_as_in_feature_tensors(
    stack: Stack, bad: float, mention: str
) -> None:
    """A NaN (for a model without missing values) or an infinity in the [N, F] tensor is a 400
    naming its row and feature, with the message the same rows get as one tensor per feature."""
    rows = demo_rows("diabetes", 3, seed=2)
    values = rows.to_numpy(dtype=np.float64, copy=True)
    values[2, 1] = bad
    by_matrix = binary_infer(stack, "diabetes", [matrix_input(values, True)])
    per_feature = binary_infer(stack, "diabetes", feature_tensors(rows, values))
    assert by_matrix.status_code == per_feature.status_code == 400, by_matrix.text
    message = by_matrix.json()["error"]
    assert message == per_feature.json()["error"]
    assert mention in message and "2" in message and rows.columns[1] in message


def test_nan_in_a_matrix_is_a_missing_value_for_a_model_that_takes_them(stack: Stack) -> None:
    """The iris forest accepts missing values: NaN in the [N, F] tensor is scored as it is in
    one tensor per feature, and as the reference model scores it."""
    rows = demo_rows("iris", 4, seed=5)[IRIS]
    values = rows.to_numpy(dtype=np.float64, copy=True)
    values[1, 2] = values[3, 0] = np.nan
    by_matrix = binary_infer(stack, "iris", [matrix_input(values, True)])
    per_feature = binary_infer(stack, "iris", feature_tensors(rows, values))
    assert by_matrix.status_code == per_feature.status_code == 200, by_matrix.text
    assert by_matrix.content == per_feature.content
    length = int(by_matrix.headers["inference-header-content-length"])
    result = triton.InferResult.from_response_body(by_matrix.content, header_length=length)
    labels = [label.decode() for label in result.as_numpy("predict")]
    assert labels == reference_model("iris").predict(pd.DataFrame(values, columns=IRIS)).tolist()


def test_a_non_number_in_a_json_matrix_is_refused(stack: Stack, api: httpx.Client) -> None:
    """A string or a null among a JSON [N, F] tensor's numbers is a 400 naming the value."""
    for value, shown in [("abc", "'abc'"), (None, "None")]:
        data = [5.1, 3.5, 1.4, 0.2, 4.9, value, 1.4, 0.2]
        body = {"inputs": [{"name": "input-0", "shape": [2, 4], "datatype": "FP64", "data": data}]}
        response = api.post("/v2/models/iris/infer", json=body)
        assert response.status_code == 400, response.text
        assert f"holds {shown}, not a number" in response.json()["error"]
