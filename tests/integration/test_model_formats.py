"""ONNX, XGBoost and LightGBM uploads over HTTP: checked, registered, scored, with contributions."""

from __future__ import annotations

import io
import uuid
from typing import Any

import httpx
import lightgbm as lgb
import numpy as np
import orjson
import pandas as pd
import pyarrow.parquet as pq
import pytest
import skops.io as sio
import xgboost as xgb

from models.formats import LoadOptions, load_model
from tests.format_fixtures import (
    FEATURES,
    lightgbm_booster,
    lightgbm_text,
    onnx_classifier,
    onnx_per_feature_regressor,
    onnx_with_external_data,
    rows,
    three_classes,
    xgboost_booster,
)
from tests.helpers import assert_problem, results_frame, submit, wait_for

CONTRIB = [f"contrib_{name}" for name in FEATURES] + ["contrib_bias"]


def unique(prefix: str) -> str:
    """A model name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def upload(api: httpx.Client, name: str, artifact: bytes, **form: Any) -> httpx.Response:
    """POST an artifact as a new version with the given form fields."""
    files = {"file": ("model.bin", artifact, "application/octet-stream")}
    return api.post(f"/v1/models/{name}/versions", files=files, data=form, timeout=180)


def _results(api: httpx.Client, job_id: str, fmt: str) -> pd.DataFrame:
    body = api.get(f"/v1/jobs/{job_id}/results", params={"format": fmt}).content
    if fmt == "json":
        parsed = orjson.loads(body)
        return pd.DataFrame(parsed["data"], columns=parsed["columns"])
    if fmt == "jsonl":
        return pd.read_json(io.BytesIO(body), lines=True, dtype=False)
    if fmt == "csv":
        return pd.read_csv(io.BytesIO(body))
    return pq.read_table(io.BytesIO(body)).to_pandas()


def test_a_lightgbm_model_scores_file_jobs_with_contributions_in_every_format(
    api: httpx.Client,
) -> None:
    """A CSV job asks for contributions: every result format holds them, summing to the margin."""
    name = unique("lgbm")
    booster = lightgbm_booster("binary")
    created = upload(api, name, booster.model_to_string().encode(), format="lightgbm")
    assert created.status_code == 201, created.text
    version = created.json()
    assert version["classes"] == [0, 1] and version["format"] == "lightgbm"
    assert version["contributions"] == "tree"
    frame = rows(300, seed=20)
    response = api.post(
        "/v1/jobs",
        params={"model": name, "outputs": "prediction,probabilities,contributions"},
        content=frame.to_csv(index=False).encode(),
        headers={"content-type": "text/csv"},
    )
    assert response.status_code == 202, response.text
    assert wait_for(api, response.json()["id"])["status"] == "succeeded"
    margin = booster.predict(frame.to_numpy(), raw_score=True)
    proba = booster.predict(frame.to_numpy())
    for fmt in ("csv", "json", "jsonl", "parquet"):
        table = _results(api, response.json()["id"], fmt)
        assert list(table.columns) == ["prediction", "proba_0", "proba_1", *CONTRIB], fmt
        np.testing.assert_allclose(table[CONTRIB].sum(axis=1), margin, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(table["proba_1"], proba, rtol=1e-9)


def test_an_xgboost_multiclass_model_takes_classes_and_gives_contributions_per_class(
    api: httpx.Client,
) -> None:
    """Classes named at upload label the predictions; JSON jobs get per-class contributions."""
    name = unique("xgb")
    booster = xgboost_booster("multi:softprob")
    artifact = bytes(booster.save_raw("ubj"))
    created = upload(api, name, artifact, format="xgboost", classes="low,mid,high")
    assert created.status_code == 201, created.text
    frame = rows(20, seed=21)
    job = submit(
        api,
        {
            "model": name,
            "outputs": ["prediction", "contributions"],
            "dataframe_records": frame.to_dict("records"),
        },
    )
    assert wait_for(api, job["id"])["status"] == "succeeded"
    table = results_frame(api, job["id"])
    proba = booster.inplace_predict(frame)
    labels = np.array(["low", "mid", "high"])[proba.argmax(axis=1)]
    assert table["prediction"].tolist() == labels.tolist()
    margin = booster.inplace_predict(frame, predict_type="margin")
    for position, label in enumerate(["low", "mid", "high"]):
        columns = [f"contrib_{label}_{n}" for n in [*FEATURES, "bias"]]
        np.testing.assert_allclose(
            table[columns].sum(axis=1), margin[:, position], rtol=1e-6, atol=1e-6
        )


def test_approximate_contributions_reach_json_and_csv_jobs_and_sum_to_the_margin(
    api: httpx.Client,
) -> None:
    """`contributions_method: approximate` on a JSON job (the batcher) and a CSV file job (the
    chunks): both get the booster's path attributions, not TreeSHAP's, summing to the margin;
    the job object says which method it asked for."""
    name = unique("lgbm-approx")
    train = rows(300, seed=23)
    target = (train["tenure"] * train["spend"] > 0).astype(int)
    params = {"objective": "binary", "verbose": -1, "num_threads": 1}
    booster = lgb.train(params, lgb.Dataset(train, label=target), num_boost_round=20)
    artifact = booster.model_to_string().encode()
    assert upload(api, name, artifact, format="lightgbm").status_code == 201
    local = load_model(artifact, "lightgbm", LoadOptions())
    frame = rows(40, seed=24)
    margin = booster.predict(frame.to_numpy(), raw_score=True)
    approximate = local.contributions(frame, "approximate")
    assert np.abs(approximate - local.contributions(frame)).max() > 0.01
    body = {"model": name, "outputs": ["prediction", "contributions"]}
    job = submit(
        api,
        {**body, "contributions_method": "approximate", "instances": frame.to_numpy().tolist()},
    )
    assert job["contributions_method"] == "approximate"
    exact_job = submit(api, {**body, "instances": frame.to_numpy().tolist()})
    assert exact_job["contributions_method"] == "exact"
    file_job = api.post(
        "/v1/jobs",
        params={"model": name, "outputs": "contributions", "contributions_method": "approximate"},
        content=frame.to_csv(index=False).encode(),
        headers={"content-type": "text/csv"},
    )
    assert file_job.status_code == 202, file_job.text
    for job_id, fmt, expected in (
        (job["id"], "json", approximate),
        (exact_job["id"], "json", local.contributions(frame)),
        (file_job.json()["id"], "csv", approximate),
    ):
        assert wait_for(api, job_id)["status"] == "succeeded"
        table = _results(api, job_id, fmt)
        np.testing.assert_allclose(table[CONTRIB], expected, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(table[CONTRIB].sum(axis=1), margin, rtol=1e-6, atol=1e-6)


def test_a_contributions_method_that_is_unknown_or_without_contributions_is_a_422(
    api: httpx.Client,
) -> None:
    """JSON and file jobs alike name `contributions_method`; nothing is queued."""
    name = unique("lgbm-method")
    assert upload(api, name, lightgbm_text(), format="lightgbm").status_code == 201
    instances = rows(3).to_numpy().tolist()
    for options in (
        {"outputs": ["contributions"], "contributions_method": "saabas"},
        {"outputs": ["prediction"], "contributions_method": "approximate"},
    ):
        refused = api.post("/v1/jobs", json={"model": name, **options, "instances": instances})
        assert_problem(refused, 422, "contributions_method")
        file_refused = api.post(
            "/v1/jobs",
            params={
                "model": name,
                "outputs": ",".join(options["outputs"]),
                "contributions_method": options["contributions_method"],
            },
            content=rows(3).to_csv(index=False).encode(),
            headers={"content-type": "text/csv"},
        )
        assert_problem(file_refused, 422, "contributions_method")
    listed = api.get("/v1/jobs", params={"model": name}).json()
    assert listed["data"] == []


def test_onnx_models_score_and_refuse_contributions_naming_the_kinds_that_have_them(
    api: httpx.Client,
) -> None:
    """An `[N, F]` ONNX classifier needs feature_names; it scores; contributions are a 422."""
    name = unique("onnx")
    artifact, model = onnx_classifier(zipmap=True)
    assert_problem(upload(api, name, artifact, format="onnx"), 422, "feature_names")
    created = upload(api, name, artifact, format="onnx", feature_names=",".join(FEATURES))
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 1  # the refused upload used no number
    frame = rows(30, seed=22)
    body = {"model": name, "outputs": ["prediction", "probabilities"]}
    job = submit(api, {**body, "dataframe_split": frame.to_dict("split")})
    assert wait_for(api, job["id"])["status"] == "succeeded"
    table = results_frame(api, job["id"])
    expected = model.predict_proba(frame.to_numpy())
    np.testing.assert_allclose(table[["proba_churn", "proba_stay"]], expected, atol=1e-5)
    refused = api.post(
        "/v1/jobs",
        json={**body, "outputs": ["contributions"], "instances": frame.to_numpy().tolist()},
    )
    assert_problem(refused, 422, "outputs", "LightGBM", "linear models")
    file_refused = api.post(
        "/v1/jobs",
        params={"model": name, "outputs": "contributions"},
        content=frame.to_csv(index=False).encode(),
        headers={"content-type": "text/csv"},
    )
    assert_problem(file_refused, 422, "outputs", "contributions")


def test_an_onnx_graph_of_one_input_per_feature_is_validated_by_feature(api: httpx.Client) -> None:
    """Feature names come from the graph's inputs and validate job rows by name."""
    name = unique("onnx-cols")
    artifact, model = onnx_per_feature_regressor()
    created = upload(api, name, artifact, format="onnx")
    assert created.status_code == 201, created.text
    assert [f["name"] for f in created.json()["features"]] == FEATURES
    frame = rows(10, seed=23)
    job = submit(api, {"model": name, "dataframe_records": frame.to_dict("records")})
    assert wait_for(api, job["id"])["status"] == "succeeded"
    np.testing.assert_allclose(
        results_frame(api, job["id"])["prediction"], model.predict(frame), rtol=1e-5
    )
    missing = api.post("/v1/jobs", json={"model": name, "dataframe_records": [{"tenure": 1.0}]})
    assert_problem(missing, 422, "spend")


@pytest.mark.parametrize(
    ("artifact", "fmt", "form", "mention"),
    [
        (b"\x08\x07not an onnx graph", "onnx", {}, "ONNX"),
        (onnx_with_external_data(), "onnx", {"feature_names": "a,b,c"}, "external data"),
        (bytes(xgboost_booster("rank:pairwise").save_raw("json")), "xgboost", {}, "rank:pairwise"),
        (lightgbm_text("binary"), "lightgbm", {"feature_names": "a,b"}, "feature_names"),
        (lightgbm_text("binary"), "lightgbm", {"classes": "x,y,z"}, "classes"),
        (b"tree\nversion=v4\n", "lightgbm", {}, "LightGBM"),
    ],
    ids=[
        "corrupt-onnx",
        "external-data",
        "unknown-objective",
        "feature-count",
        "classes",
        "bad-lgbm",
    ],
)
def test_bad_artifacts_are_422_naming_the_problem_and_use_no_version_number(
    api: httpx.Client, artifact: bytes, fmt: str, form: dict[str, str], mention: str
) -> None:
    """Nothing is registered for a refused upload, and the next good one is version 1."""
    name = unique("refused")
    assert_problem(upload(api, name, artifact, format=fmt, **form), 422, mention)
    assert api.get(f"/v1/models/{name}").status_code == 404
    created = upload(api, name, lightgbm_text("regression"), format="lightgbm")
    assert created.status_code == 201 and created.json()["version"] == 1


def test_a_skops_xgbclassifier_loads_with_the_types_the_uploader_names(api: httpx.Client) -> None:
    """The scikit-learn wrapper needs its types named; then it scores with contributions."""
    name = unique("xgb-sk")
    frame = rows(150, seed=24)
    model = xgb.XGBClassifier(n_estimators=5, n_jobs=1).fit(frame, three_classes(frame))
    artifact = sio.dumps(model)
    assert_problem(upload(api, name, artifact), 422, "xgboost.sklearn.XGBClassifier")
    trusted = "xgboost.core.Booster,xgboost.sklearn.XGBClassifier"
    created = upload(api, name, artifact, trusted_types=trusted)
    assert created.status_code == 201, created.text
    sample = rows(8, seed=25)
    job = submit(
        api,
        {
            "model": name,
            "outputs": ["prediction", "contributions"],
            "dataframe_records": sample.to_dict("records"),
        },
    )
    assert wait_for(api, job["id"])["status"] == "succeeded"
    table = results_frame(api, job["id"])
    assert table["prediction"].tolist() == model.predict(sample).tolist()
    margin = model.predict(sample, output_margin=True)
    columns = [f"contrib_2_{n}" for n in [*FEATURES, "bias"]]
    np.testing.assert_allclose(table[columns].sum(axis=1), margin[:, 2], rtol=1e-6, atol=1e-6)


def test_the_demo_models_include_a_lightgbm_and_an_onnx_model(api: httpx.Client) -> None:
    """`wine` (LightGBM, with contributions) and `iris_onnx` are registered and score rows."""
    models = {m["name"]: m for m in api.get("/v1/models").json()["data"]}
    wine, iris = models["wine"]["versions"][0], models["iris_onnx"]["versions"][0]
    assert wine["format"] == "lightgbm" and wine["classes"] == ["class_0", "class_1", "class_2"]
    assert iris["format"] == "onnx" and [f["name"] for f in iris["features"]][:2] == [
        "sepal_length",
        "sepal_width",
    ]
    row = {name["name"]: 1.0 for name in wine["features"]}
    job = submit(api, {"model": "wine", "outputs": ["contributions"], "dataframe_records": [row]})
    assert wait_for(api, job["id"])["status"] == "succeeded"
    assert "contrib_class_0_alcohol" in results_frame(api, job["id"]).columns
    flower = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
    job = submit(api, {"model": "iris_onnx", "dataframe_records": [flower]})
    assert wait_for(api, job["id"])["status"] == "succeeded"
    assert results_frame(api, job["id"])["prediction"].tolist() == ["setosa"]
