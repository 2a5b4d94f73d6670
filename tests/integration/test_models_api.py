"""Listing models with their input schemas."""

from __future__ import annotations

import httpx

from tests.helpers import assert_problem


def test_models_list_shows_schemas_of_the_demo_models(api: httpx.Client) -> None:
    """Each demo model lists its features, task, classes and production alias."""
    models = {m["name"]: m for m in api.get("/v1/models").json()["data"]}
    assert {"iris", "diabetes", "breast_cancer"} <= set(models)
    iris = models["iris"]
    assert iris["aliases"] == {"production": 1} and iris["default_version"] == 1
    version = iris["versions"][0]
    assert [f["name"] for f in version["features"]] == [
        "sepal_length",
        "sepal_width",
        "petal_length",
        "petal_width",
    ]
    assert {f["type"] for f in version["features"]} == {"number"}
    assert version["task"] == "classification"
    assert version["classes"] == ["setosa", "versicolor", "virginica"]
    assert models["diabetes"]["versions"][0]["task"] == "regression"
    assert models["diabetes"]["versions"][0]["classes"] is None
    assert len(models["breast_cancer"]["versions"][0]["features"]) == 30


def test_model_and_version_detail(api: httpx.Client) -> None:
    """A model and one of its versions can be read alone; unknown ones are 404."""
    assert api.get("/v1/models/iris").json()["latest_version"] == 1
    assert api.get("/v1/models/iris/versions/1").json()["format"] == "skops"
    assert_problem(api.get("/v1/models/nosuch"), 404, "nosuch")
    assert_problem(api.get("/v1/models/iris/versions/42"), 404, "42")
