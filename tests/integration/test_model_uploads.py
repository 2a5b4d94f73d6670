"""Uploading model versions over HTTP: formats, trust, the separate check, and scoring them."""

from __future__ import annotations

import pickle
import uuid
from typing import Any

import httpx

from tests.helpers import assert_problem, new_tenant, results_frame, submit, wait_for
from tests.model_fixtures import (
    DOUBLE_TYPE,
    ExitOnLoad,
    categorical_pipeline,
    doubling_pipeline,
    plan_frame,
    skops_bytes,
)
from tests.stack import Stack


def unique(prefix: str) -> str:
    """A model name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def upload(
    api: httpx.Client,
    name: str,
    artifact: bytes,
    headers: dict[str, str] | None = None,
    **form: Any,
) -> httpx.Response:
    """POST an artifact as a new version with the given form fields."""
    files = {"file": ("model.bin", artifact, "application/octet-stream")}
    return api.post(
        f"/v1/models/{name}/versions", files=files, data=form, headers=headers, timeout=180
    )


def test_a_categorical_skops_pipeline_is_uploaded_and_scores_json_rows(api: httpx.Client) -> None:
    """The upload reads the schema (plan is a string), and a JSON job is scored with it."""
    name = unique("plans")
    model = categorical_pipeline()
    created = upload(api, name, skops_bytes(model), description="plan churn")
    assert created.status_code == 201, created.text
    version = created.json()
    assert version["version"] == 1 and created.headers["location"].endswith(f"/{name}/versions/1")
    assert [(f["name"], f["type"]) for f in version["features"]] == [
        ("plan", "string"),
        ("age", "number"),
    ]
    assert version["classes"] == ["no", "yes"] and version["description"] == "plan churn"
    frame, _ = plan_frame()
    job = submit(api, {"model": name, "dataframe_records": frame.to_dict("records")})
    assert job["model"] == {"name": name, "version": 1, "canary": False}
    assert wait_for(api, job["id"])["status"] == "succeeded"
    assert results_frame(api, job["id"])["prediction"].tolist() == model.predict(frame).tolist()
    wrong = api.post("/v1/jobs", json={"model": name, "instances": [[3, 5.0]]})
    assert_problem(wrong, 422, "plan", "category string")


def test_versions_number_themselves_and_resolve_by_number_and_alias(api: httpx.Client) -> None:
    """Two uploads are versions 1 and 2; `name@1` and `name@alias` resolve at submission."""
    name = unique("numbered")
    artifact = skops_bytes(categorical_pipeline())
    assert upload(api, name, artifact).json()["version"] == 1
    second = upload(api, name, artifact, alias="staging")
    assert second.json()["version"] == 2
    assert api.get(f"/v1/models/{name}").json()["aliases"] == {"staging": 2}
    rows = {"dataframe_records": [{"plan": "pro", "age": 3.0}]}
    assert submit(api, {"model": f"{name}@1", **rows})["model"]["version"] == 1
    assert submit(api, {"model": f"{name}@staging", **rows})["model"]["version"] == 2
    assert submit(api, {"model": name, **rows})["model"]["version"] == 2  # newest, no production
    assert_problem(api.post("/v1/jobs", json={"model": f"{name}@nope", **rows}), 404, "nope")


def test_skops_with_an_untrusted_type_not_named_is_422_naming_it(api: httpx.Client) -> None:
    """An unnamed custom type is refused by name; named in trusted_types, it is accepted."""
    name = unique("doubling")
    artifact = skops_bytes(doubling_pipeline())
    refused = upload(api, name, artifact)
    body = assert_problem(refused, 422, DOUBLE_TYPE)
    assert body["errors"][0]["loc"] == ["body", "trusted_types"]
    assert api.get(f"/v1/models/{name}").status_code == 404
    accepted = upload(api, name, artifact, trusted_types=DOUBLE_TYPE)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["trusted_types"] == [DOUBLE_TYPE]
    job = submit(api, {"model": name, "dataframe_records": [{"age": 1.0}, {"age": 20.0}]})
    assert wait_for(api, job["id"])["status"] == "succeeded"


def test_corrupt_or_failing_artifacts_are_422_and_serving_is_unaffected(api: httpx.Client) -> None:
    """Garbage, a truncated file, a model that cannot predict and one that kills its loader are
    each refused; no version is added, the API stays up and the current version still scores."""
    name = unique("guarded")
    good = skops_bytes(categorical_pipeline())
    assert upload(api, name, good, alias="production").status_code == 201
    assert_problem(upload(api, name, b"not a model at all"), 422, "skops")
    assert_problem(upload(api, name, good[: len(good) // 2]), 422)
    assert_problem(upload(api, name, good, feature_names="x,y"), 422, "sample row")
    crash = upload(api, name, pickle.dumps(ExitOnLoad()), format="pickle")
    assert_problem(crash, 422, "code 3")
    assert api.get("/healthz").status_code == 200
    model = api.get(f"/v1/models/{name}").json()
    assert [v["version"] for v in model["versions"]] == [1] and model["default_version"] == 1
    job = submit(api, {"model": name, "dataframe_records": [{"plan": "team", "age": 4.0}]})
    assert wait_for(api, job["id"])["status"] == "succeeded"
    assert upload(api, name, good).json()["version"] == 2  # refused uploads used no number


def test_an_admin_may_upload_pickle(api: httpx.Client) -> None:
    """The pickle format is accepted from an admin key."""
    name = unique("pickled")
    created = upload(api, name, pickle.dumps(categorical_pipeline()), format="pickle")
    assert created.status_code == 201, created.text
    assert created.json()["format"] == "pickle"


def test_pickle_from_a_key_without_admin_is_403(api: httpx.Client, stack: Stack) -> None:
    """A key made with POST /v1/keys with only models:write gets 403 for joblib and pickle
    uploads, while it may upload skops."""
    made = api.post(
        "/v1/keys", json={"tenant": new_tenant(), "scopes": ["models:write"], "name": "uploader"}
    )
    assert made.status_code == 201, made.text
    try:
        with stack.client(made.json()["key"], timeout=180) as uploader:
            artifact = pickle.dumps(categorical_pipeline())
            for fmt in ("pickle", "joblib"):
                assert_problem(upload(uploader, unique("p"), artifact, format=fmt), 403, fmt)
            skops = upload(uploader, unique("s"), skops_bytes(categorical_pipeline()))
            assert skops.status_code == 201, skops.text
    finally:
        assert api.delete(f"/v1/keys/{made.json()['id']}").status_code == 204


def test_bad_form_fields_are_422(api: httpx.Client) -> None:
    """An unknown format, a bad name or malformed feature_types name the field."""
    good = skops_bytes(categorical_pipeline())
    assert_problem(upload(api, unique("f"), good, format="onnx"), 422, "format")
    assert_problem(upload(api, "bad@name", good), 422, "name")
    assert_problem(upload(api, unique("f"), good, feature_types="[1]"), 422, "feature_types")


def test_aliases_are_set_and_removed(api: httpx.Client) -> None:
    """PUT points an alias at an existing version; DELETE removes it; unknown ones are 404."""
    name = unique("aliased")
    upload(api, name, skops_bytes(categorical_pipeline()))
    put = api.put(f"/v1/models/{name}/aliases/production", json={"version": 1})
    assert put.status_code == 200 and put.json()["aliases"] == {"production": 1}
    assert_problem(api.put(f"/v1/models/{name}/aliases/production", json={"version": 9}), 404)
    assert api.delete(f"/v1/models/{name}/aliases/production").status_code == 204
    assert_problem(api.delete(f"/v1/models/{name}/aliases/production"), 404, "production")
