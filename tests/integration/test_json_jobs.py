"""JSON jobs through the real API, queue and workers."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from tests.helpers import demo_rows, reference_model, results_frame, submit, wait_for


def _bodies(rows) -> dict[str, dict]:
    return {
        "dataframe_split": {"columns": list(rows.columns), "data": rows.to_numpy().tolist()},
        "dataframe_records": rows.to_dict("records"),
        "instances": rows.to_numpy().tolist(),
    }


@pytest.mark.parametrize("fmt", ["dataframe_split", "dataframe_records", "instances"])
def test_every_input_format_scores_like_sklearn(api: httpx.Client, fmt: str) -> None:
    """Each JSON format yields the predictions and probabilities the model gives directly."""
    rows = demo_rows("iris", 40, seed=1)
    job = submit(
        api,
        {"model": "iris", "outputs": ["prediction", "probabilities"], fmt: _bodies(rows)[fmt]},
    )
    assert wait_for(api, job["id"])["status"] == "succeeded"
    scored = results_frame(api, job["id"])
    model = reference_model("iris")
    assert scored["prediction"].tolist() == model.predict(rows).tolist()
    expected = model.predict_proba(rows)
    for position, label in enumerate(model.classes_):
        np.testing.assert_allclose(scored[f"proba_{label}"], expected[:, position])


def test_regression_and_pipeline_models_score_like_sklearn(api: httpx.Client) -> None:
    """The diabetes regressor and the breast-cancer pipeline match direct predictions."""
    for name in ("diabetes", "breast_cancer"):
        rows = demo_rows(name, 25, seed=2)
        job = submit(api, {"model": name, "dataframe_split": _bodies(rows)["dataframe_split"]})
        assert wait_for(api, job["id"])["status"] == "succeeded"
        scored = results_frame(api, job["id"])
        expected = reference_model(name).predict(rows)
        if name == "diabetes":
            np.testing.assert_allclose(scored["prediction"], expected)
        else:
            assert scored["prediction"].tolist() == expected.tolist()


def test_passthrough_columns_come_first_and_unchanged(api: httpx.Client) -> None:
    """Passthrough columns are copied into each result row ahead of the prediction."""
    rows = demo_rows("iris", 5)
    records = [{"customer_id": f"c-{i}", **row} for i, row in enumerate(rows.to_dict("records"))]
    job = submit(
        api, {"model": "iris", "passthrough": ["customer_id"], "dataframe_records": records}
    )
    wait_for(api, job["id"])
    scored = results_frame(api, job["id"])
    assert list(scored.columns) == ["customer_id", "prediction"]
    assert scored["customer_id"].tolist() == [f"c-{i}" for i in range(5)]


def test_job_object_reports_model_progress_and_location(api: httpx.Client) -> None:
    """202 carries Location; the ended job names its exact model version and counts rows."""
    rows = demo_rows("iris", 3)
    response = api.post(
        "/v1/jobs",
        json={
            "model": "iris@production",
            "instances": rows.to_numpy().tolist(),
            "metadata": {"batch": "a"},
        },
    )
    assert response.status_code == 202
    job = response.json()
    assert response.headers["location"].endswith(f"/v1/jobs/{job['id']}")
    assert job["status"] == "queued" and job["model"] == {
        "name": "iris",
        "version": 1,
        "canary": False,
    }
    done = wait_for(api, job["id"])
    assert done["progress"] == {"rows_total": 3, "rows_done": 3, "rows_failed": 0}
    assert done["created_at"] <= done["started_at"] <= done["finished_at"]
    assert done["metadata"] == {"batch": "a"} and done["error"] is None


def test_status_moves_queued_running_succeeded(api: httpx.Client) -> None:
    """The job's event stream shows queued, then running, then succeeded."""
    job = submit(api, {"model": "iris", "instances": demo_rows("iris", 2).to_numpy().tolist()})
    with api.stream("GET", f"/v1/jobs/{job['id']}/events") as events:
        statuses = [
            line.split('"status":"')[1].split('"')[0]
            for line in events.iter_lines()
            if '"status"' in line
        ]
    assert statuses == ["queued", "running", "succeeded"]


def test_long_poll_returns_when_the_job_ends(api: httpx.Client) -> None:
    """`?wait=` answers with the ended job, long before the wait is up."""
    job = submit(api, {"model": "iris", "instances": demo_rows("iris", 2).to_numpy().tolist()})
    ended = api.get(f"/v1/jobs/{job['id']}", params={"wait": 50}, timeout=60).json()
    assert ended["status"] == "succeeded"


@pytest.mark.parametrize("rows", [3, 4000])
def test_a_waiting_submit_answers_with_the_ended_job_and_its_rows(
    api: httpx.Client, rows: int
) -> None:
    """`POST ?wait=&include=results` answers 200 with the scored rows: from the published ending
    for small results, read back past the 64 KB that a publish carries (4,000 rows)."""
    frame = demo_rows("iris", rows, seed=6)
    body = {
        "model": "iris",
        "outputs": ["prediction", "probabilities"],
        "passthrough": ["row"],
        "dataframe_records": frame.assign(row=range(rows)).to_dict("records"),
    }
    response = api.post("/v1/jobs", json=body, params={"wait": 50, "include": "results"})
    assert response.status_code == 200, response.text
    job = response.json()
    assert job["status"] == "succeeded" and job["progress"]["rows_done"] == rows
    assert job["model"] == {"name": "iris", "version": 1, "canary": False}
    columns = job["results"]["columns"]
    data = job["results"]["data"]
    assert columns[:2] == ["row", "prediction"] and [r[0] for r in data] == list(range(rows))
    assert [r[1] for r in data] == reference_model("iris").predict(frame).tolist()
    assert (rows > 1000) == (len(response.content) > 65536)


def test_results_as_csv(api: httpx.Client) -> None:
    """`?format=csv` gives a header and one line per row in input order."""
    rows = demo_rows("iris", 4)
    job = submit(api, {"model": "iris", "dataframe_records": rows.to_dict("records")})
    wait_for(api, job["id"])
    response = api.get(f"/v1/jobs/{job['id']}/results", params={"format": "csv"})
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.text.strip().splitlines()
    assert lines[0] == "prediction"
    assert lines[1:] == reference_model("iris").predict(rows).tolist()


def test_jobs_list_newest_first_with_filters(api: httpx.Client) -> None:
    """Listing shows the caller's jobs newest first and filters by model."""
    first = submit(
        api, {"model": "diabetes", "instances": demo_rows("diabetes", 1).to_numpy().tolist()}
    )
    second = submit(
        api, {"model": "diabetes", "instances": demo_rows("diabetes", 1).to_numpy().tolist()}
    )
    listed = api.get("/v1/jobs", params={"model": "diabetes", "limit": 2}).json()
    assert [j["id"] for j in listed["data"]] == [second["id"], first["id"]]
    older = api.get(
        "/v1/jobs", params={"model": "diabetes", "cursor": second["id"], "limit": 1}
    ).json()
    assert older["data"][0]["id"] == first["id"]
