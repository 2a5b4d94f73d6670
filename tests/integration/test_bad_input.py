"""Client mistakes get a 4xx problem+json naming what is wrong, never a 500."""

from __future__ import annotations

import httpx

from tests.helpers import assert_problem, demo_rows

IRIS_ROW = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}


def test_unknown_model_is_404(api: httpx.Client) -> None:
    """A model name nobody registered is a 404 naming it."""
    response = api.post("/v1/jobs", json={"model": "nosuch", "dataframe_records": [IRIS_ROW]})
    assert_problem(response, 404, "nosuch")


def test_unknown_version_and_alias_are_404(api: httpx.Client) -> None:
    """`name@99` and `name@nosuchalias` are 404s."""
    for ref in ("iris@99", "iris@staging"):
        response = api.post("/v1/jobs", json={"model": ref, "dataframe_records": [IRIS_ROW]})
        assert_problem(response, 404, ref.split("@")[1])


def test_missing_feature_column_is_422_naming_it(api: httpx.Client) -> None:
    """A feature absent from the columns is named."""
    row = {k: v for k, v in IRIS_ROW.items() if k != "petal_width"}
    response = api.post("/v1/jobs", json={"model": "iris", "dataframe_records": [row]})
    body = assert_problem(response, 422, "petal_width", "missing feature column")
    assert body["errors"][0]["loc"] == ["dataframe_records", "petal_width"]


def test_unknown_column_is_422_naming_it(api: httpx.Client) -> None:
    """A column that is neither a feature nor passthrough is named."""
    split = {"columns": [*IRIS_ROW, "colour"], "data": [[*IRIS_ROW.values(), "red"]]}
    response = api.post("/v1/jobs", json={"model": "iris", "dataframe_split": split})
    assert_problem(response, 422, "colour", "unknown column")


def test_non_numeric_value_is_422_naming_row_and_column(api: httpx.Client) -> None:
    """A string in a numeric feature names the row index and column."""
    rows = [IRIS_ROW, {**IRIS_ROW, "sepal_width": "wide"}]
    response = api.post("/v1/jobs", json={"model": "iris", "dataframe_records": rows})
    body = assert_problem(response, 422, "sepal_width", "wide")
    assert body["errors"] == [
        {"loc": ["dataframe_records", 1, "sepal_width"], "msg": "expected a number, got 'wide'"}
    ]


def test_missing_value_for_a_model_without_nan_support_is_422(api: httpx.Client) -> None:
    """null is refused for a model that cannot take missing values."""
    row = demo_rows("diabetes", 1).to_dict("records")[0] | {"bmi": None}
    response = api.post("/v1/jobs", json={"model": "diabetes", "dataframe_records": [row]})
    assert_problem(response, 422, "bmi", "missing value")


def test_no_rows_is_422(api: httpx.Client) -> None:
    """An empty row list is refused."""
    for body in (
        {"model": "iris", "instances": []},
        {"model": "iris", "dataframe_split": {"columns": list(IRIS_ROW), "data": []}},
    ):
        assert_problem(api.post("/v1/jobs", json=body), 422, "no rows")


def test_ragged_instances_are_422_naming_the_row(api: httpx.Client) -> None:
    """An instance with the wrong number of values names its index."""
    body = {"model": "iris", "instances": [[1, 2, 3, 4], [1, 2, 3]]}
    response = api.post("/v1/jobs", json=body)
    problem = assert_problem(response, 422, "expected 4")
    assert problem["errors"][0]["loc"] == ["instances", 1]


def test_ragged_split_rows_are_422(api: httpx.Client) -> None:
    """A dataframe_split row shorter than the columns is named."""
    split = {"columns": list(IRIS_ROW), "data": [[1, 2, 3, 4], [1]]}
    response = api.post("/v1/jobs", json={"model": "iris", "dataframe_split": split})
    assert_problem(response, 422, "row has 1 values, expected 4")


def test_malformed_json_is_422_with_position(api: httpx.Client) -> None:
    """Broken JSON is a 422 that says where it broke."""
    response = api.post(
        "/v1/jobs",
        content=b'{"model": "iris",\n "instances": [1,}',
        headers={"content-type": "application/json"},
    )
    assert_problem(response, 422, "Malformed JSON", "line 2")


def test_wrong_field_types_are_422(api: httpx.Client) -> None:
    """An unknown option, a bad priority or a missing model are named."""
    cases = [
        ({"model": "iris", "instances": [[1, 2, 3, 4]], "priority": "urgent"}, "priority"),
        ({"instances": [[1, 2, 3, 4]]}, "model"),
        ({"model": "iris", "instances": [[1, 2, 3, 4]], "colour": 1}, "colour"),
        ({"model": "iris"}, "exactly one of"),
        (
            {"model": "iris", "instances": [[1, 2, 3, 4]], "passthrough": ["prediction"]},
            "passthrough",
        ),
    ]
    for body, mention in cases:
        assert_problem(api.post("/v1/jobs", json=body), 422, mention)


def test_body_over_the_limit_is_413(api: httpx.Client) -> None:
    """A body larger than INFERQ_MAX_BODY_BYTES (10 MiB by default) is refused unread."""
    big = {"model": "iris", "instances": [[1.0, 2.0, 3.0, 4.0]] * 600_000}
    assert_problem(api.post("/v1/jobs", json=big), 413, "limit")


def test_unknown_job_is_404_everywhere(api: httpx.Client) -> None:
    """Reading, results, errors and events of an unknown job are 404s."""
    missing = "job_01M83ZXD7CV4ETARR9WMYXEVV7"
    for path in ("", "/results", "/errors", "/events"):
        assert_problem(api.get(f"/v1/jobs/{missing}{path}"), 404, missing)


def test_results_of_an_unfinished_job_are_409(isolated_stack) -> None:
    """Results of a queued job (no worker running) are a 409."""
    isolated_stack.start_api()
    with isolated_stack.client() as client:
        job = client.post(
            "/v1/jobs", json={"model": "iris", "dataframe_records": [IRIS_ROW]}
        ).json()
        assert_problem(client.get(f"/v1/jobs/{job['id']}/results"), 409, "queued")
