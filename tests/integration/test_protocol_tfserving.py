"""TensorFlow Serving REST (and KServe v1's `:predict`) with the calls of TF Serving's REST docs."""

from __future__ import annotations

import httpx
import numpy as np
import pandas as pd

from tests.helpers import demo_rows, reference_model, results_frame, submit, wait_for

IRIS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def test_the_seed_documents_call_works_as_written(api: httpx.Client) -> None:
    """`curl -d '{"instances": [[5.1, 3.5, 1.4, 0.2]]}' -X POST .../v1/models/iris:predict`."""
    response = api.post(
        "/v1/models/iris:predict",
        content=b'{"instances": [[5.1, 3.5, 1.4, 0.2]]}',
        headers={"content-type": "application/x-www-form-urlencoded"},  # curl -d sends this
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": ["setosa"]}


def test_row_and_columnar_formats_and_both_signatures_match_the_reference(
    api: httpx.Client,
) -> None:
    """Instances as objects, columnar inputs, and `predict_proba` give the reference's answers."""
    rows = demo_rows("iris", 6, seed=2)
    model = reference_model("iris")
    labels = model.predict(rows[IRIS]).tolist()
    records = api.post("/v1/models/iris:predict", json={"instances": rows.to_dict("records")})
    assert records.json() == {"predictions": labels}
    columns = {name: rows[name].tolist() for name in IRIS}
    columnar = api.post("/v1/models/iris:predict", json={"inputs": columns})
    assert columnar.json() == {"outputs": labels}
    proba = api.post(
        "/v1/models/iris:predict",
        json={"signature_name": "predict_proba", "instances": rows[IRIS].values.tolist()},
    )
    assert np.allclose(proba.json()["predictions"], model.predict_proba(rows[IRIS]))


def test_versions_and_labels_address_a_version(api: httpx.Client) -> None:
    """`/versions/1` and `/labels/production` score; an unknown version or label is 404."""
    body = {"instances": [[5.1, 3.5, 1.4, 0.2]]}
    for path in ("/v1/models/iris/versions/1", "/v1/models/iris/labels/production"):
        response = api.post(f"{path}:predict", json=body)
        assert response.json() == {"predictions": ["setosa"]}, path
    for path in ("/v1/models/iris/versions/9", "/v1/models/iris/labels/nightly"):
        response = api.post(f"{path}:predict", json=body)
        assert response.status_code == 404 and "error" in response.json(), path


def test_classify_and_regress_answer_results(api: httpx.Client) -> None:
    """`:classify` gives [label, score] pairs per example (context shared), `:regress` values;
    each refuses the other kind of model with 400."""
    rows = demo_rows("iris", 2, seed=4)
    context = {"sepal_length": 5.0}
    examples = rows[IRIS[1:]].to_dict("records")
    classified = api.post(
        "/v1/models/iris:classify", json={"context": context, "examples": examples}
    )
    assert classified.status_code == 200, classified.text
    frame = rows[IRIS].assign(sepal_length=5.0)
    proba = reference_model("iris").predict_proba(frame)
    results = classified.json()["results"]
    assert [[label for label, _ in row] for row in results] == [
        ["setosa", "versicolor", "virginica"]
    ] * 2
    assert np.allclose([[score for _, score in row] for row in results], proba)
    diabetes = demo_rows("diabetes", 3)
    regressed = api.post(
        "/v1/models/diabetes:regress", json={"examples": diabetes.to_dict("records")}
    )
    assert np.allclose(regressed.json()["results"], reference_model("diabetes").predict(diabetes))
    wrong = api.post("/v1/models/diabetes:classify", json={"examples": [{"age": 1.0}]})
    assert wrong.status_code == 400 and "regressor" in wrong.json()["error"]


def test_model_status_and_metadata_describe_the_model(api: httpx.Client) -> None:
    """`GET /v1/models/iris` carries `model_version_status`; `/metadata` the signature_defs."""
    status = api.get("/v1/models/iris").json()["model_version_status"]
    assert status[0]["version"] == "1" and status[0]["state"] == "AVAILABLE"
    meta = api.get("/v1/models/iris/metadata")
    assert meta.status_code == 200, meta.text
    body = meta.json()
    assert body["model_spec"] == {"name": "iris", "signature_name": "", "version": "1"}
    signatures = body["metadata"]["signature_def"]["signature_def"]
    assert set(signatures) == {"predict", "predict_proba"}
    assert list(signatures["predict"]["inputs"]) == IRIS


def test_kserve_v1_explain_gives_the_contributions_a_job_gives(api: httpx.Client) -> None:
    """`:explain` answers `{"predictions", "explanations"}`: per class for the multiclass iris
    forest, flat for the diabetes ridge, equal to a job's `contrib_*` columns for the same rows,
    and adding up to the regressor's prediction."""
    flowers = demo_rows("iris", 3, seed=5)
    explained = api.post(
        "/v1/models/iris:explain", json={"instances": flowers[IRIS].values.tolist()}
    )
    assert explained.status_code == 200, explained.text
    body = explained.json()
    assert body["predictions"] == reference_model("iris").predict(flowers[IRIS]).tolist()
    job = submit(
        api,
        {"model": "iris", "outputs": ["contributions"], "instances": flowers[IRIS].values.tolist()},
    )
    assert wait_for(api, job["id"])["status"] == "succeeded"
    table = results_frame(api, job["id"])
    for row, explanation in zip(table.to_dict("records"), body["explanations"], strict=True):
        assert set(explanation["contributions"]) == {"setosa", "versicolor", "virginica"}
        for label, by_feature in explanation["contributions"].items():
            assert list(by_feature) == IRIS
            expected = [row[f"contrib_{label}_{name}"] for name in IRIS]
            assert np.allclose(list(by_feature.values()), expected)
            assert np.isclose(explanation["bias"][label], row[f"contrib_{label}_bias"])
    patients = demo_rows("diabetes", 4, seed=1)
    answer = api.post(
        "/v1/models/diabetes:explain", json={"instances": patients.to_dict("records")}
    )
    assert answer.status_code == 200, answer.text
    for value, explanation in zip(
        answer.json()["predictions"], answer.json()["explanations"], strict=True
    ):
        assert list(explanation["contributions"]) == list(patients.columns)
        assert np.isclose(sum(explanation["contributions"].values()) + explanation["bias"], value)


def test_kserve_v1_explain_of_a_model_without_contributions_is_400_naming_those_with(
    api: httpx.Client,
) -> None:
    """An ONNX graph gives no contributions: 400 `{"error"}` naming the kinds that do."""
    response = api.post("/v1/models/iris_onnx:explain", json={"instances": [[5.1, 3.5, 1.4, 0.2]]})
    assert response.status_code == 400
    assert "LightGBM" in response.json()["error"]
    unknown = api.post("/v1/models/iris:explainer", json={"instances": [[5.1, 3.5, 1.4, 0.2]]})
    assert unknown.status_code == 404 and ":explain" in unknown.json()["error"]


def test_kserve_v1_predict_and_model_ready_answer_as_kserve_documents(api: httpx.Client) -> None:
    """KServe's sklearn-iris example body gets `{"predictions"}`; `GET /v1/models/{name}` says
    `ready` as KServe v1's model endpoint does."""
    instances = [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]
    response = api.post("/v1/models/iris:predict", json={"instances": instances})
    expected = reference_model("iris").predict(pd.DataFrame(instances, columns=IRIS)).tolist()
    assert response.status_code == 200 and response.json() == {"predictions": expected}
    model = api.get("/v1/models/iris").json()
    assert model["name"] == "iris" and model["ready"] is True
