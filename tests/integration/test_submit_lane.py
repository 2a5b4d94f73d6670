"""`POST /v1/jobs` is answered past FastAPI's routing (api.lane):
the answers must be the route's."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers import assert_problem, demo_rows

ROWS = demo_rows("iris", 3, seed=9)
JOB = {
    "model": "iris",
    "outputs": ["prediction", "probabilities"],
    "metadata": {"order": "A-17"},
    "instances": ROWS.to_numpy().tolist(),
}


def test_a_waiting_submission_answers_the_job_object_the_route_serves(api: httpx.Client) -> None:
    """The answer to a submission is the job object `GET /v1/jobs/{id}` serves, member for
    member, with its URL as `Location`."""
    posted = api.post("/v1/jobs", json=JOB, params={"wait": 30, "include": "results"})
    assert posted.status_code == 200, posted.text
    assert posted.headers["content-type"] == "application/json"
    job = posted.json()
    assert posted.headers["location"] == job["links"]["self"]
    read = api.get(f"/v1/jobs/{job['id']}", params={"include": "results"})
    assert read.status_code == 200
    assert job == read.json()
    assert job["metadata"] == {"order": "A-17"} and len(job["results"]["data"]) == 3


def test_a_queued_submission_is_202_with_its_location(api: httpx.Client) -> None:
    """Without `wait` the answer is 202 with the queued (or already running) job."""
    posted = api.post("/v1/jobs", json=JOB)
    assert posted.status_code == 202, posted.text
    job = posted.json()
    assert job["status"] in {"queued", "running", "succeeded"}
    assert posted.headers["location"].endswith(f"/v1/jobs/{job['id']}")


@pytest.mark.parametrize(
    ("query", "field"),
    [({"wait": "soon"}, "wait"), ({"wait": "-1"}, "wait"), ({"include": "everything"}, "include")],
)
def test_a_query_the_route_refuses_is_still_a_422_naming_it(
    api: httpx.Client, query: dict[str, str], field: str
) -> None:
    """The lane leaves a bad query to the route, whose 422 names the parameter."""
    problem = assert_problem(api.post("/v1/jobs", json=JOB, params=query), 422, field)
    assert problem["errors"][0]["loc"] == ["query", field]


def test_a_body_error_answered_by_the_lane_is_the_routes_problem(api: httpx.Client) -> None:
    """A JSON body with a charset parameter is the lane's; its mistakes are problem+json 422s
    naming the field, like the route's."""
    response = api.post(
        "/v1/jobs",
        content=b'{"model": "iris", "instances": [[1, 2, 3]]}',
        headers={"content-type": "application/json; charset=utf-8"},
    )
    problem = assert_problem(response, 422, "expected 4")
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["errors"][0]["loc"] == ["instances", 0]
