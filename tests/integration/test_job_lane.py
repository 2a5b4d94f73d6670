"""`GET /v1/jobs/{id}` is answered past FastAPI's routing (api.lane) through the route's own
`read_job`: its answers must be the route's, for every caller and every query."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from api.reads import reader
from tests.helpers import TenantClients, assert_problem, demo_rows, submit, wait_for
from tests.stack import Stack

JOB = {"model": "iris", "instances": demo_rows("iris", 2, seed=4).to_numpy().tolist()}


def test_a_long_poll_answers_the_ended_job_with_its_rows(api: httpx.Client) -> None:
    """A poll with `wait` comes back when the job has ended, with the rows asked for; a plain
    read afterwards is the same object."""
    job_id = submit(api, JOB)["id"]
    polled = api.get(f"/v1/jobs/{job_id}", params={"wait": 30, "include": "results"})
    assert polled.status_code == 200, polled.text
    assert polled.headers["content-type"] == "application/json"
    job = polled.json()
    assert job["status"] == "succeeded" and len(job["results"]["data"]) == 2
    assert api.get(f"/v1/jobs/{job_id}", params={"include": "results"}).json() == job
    plain = api.get(f"/v1/jobs/{job_id}").json()
    assert plain["results"] is None and {**plain, "results": job["results"]} == job


def test_a_read_without_include_has_no_rows(api: httpx.Client) -> None:
    """Rows are inlined only when asked for, whether the job was heard ending or read."""
    job_id = wait_for(api, submit(api, JOB)["id"])["id"]
    assert api.get(f"/v1/jobs/{job_id}").json()["results"] is None


def test_another_tenants_job_is_404_and_unknown_ids_too(tenant_clients: TenantClients) -> None:
    """A job is read only by its tenant: another's is a 404 like an unknown id, also when the
    job has just ended (its ending is held by the API)."""
    owner, other = tenant_clients(), tenant_clients()
    job_id = wait_for(owner, submit(owner, JOB)["id"])["id"]
    assert_problem(other.get(f"/v1/jobs/{job_id}"), 404, job_id)
    assert_problem(other.get(f"/v1/jobs/{job_id}", params={"wait": 1}), 404, job_id)
    assert_problem(other.get("/v1/jobs/nope"), 404, "nope")
    assert owner.get(f"/v1/jobs/{job_id}").status_code == 200


@pytest.mark.parametrize(
    ("query", "field"),
    [({"wait": "soon"}, "wait"), ({"wait": "-1"}, "wait"), ({"include": "all"}, "include")],
)
def test_a_query_the_route_refuses_is_its_422(
    api: httpx.Client, query: dict[str, str], field: str
) -> None:
    """The lane leaves a bad query to the route, whose 422 names the parameter."""
    job_id = submit(api, JOB)["id"]
    problem = assert_problem(api.get(f"/v1/jobs/{job_id}", params=query), 422, field)
    assert problem["errors"][0]["loc"] == ["query", field]


def test_reads_need_a_key_with_the_read_scope(
    tenant_clients: TenantClients, api: httpx.Client
) -> None:
    """No key is 401 with the Bearer challenge; a key without `jobs:read` is 403."""
    job_id = submit(api, JOB)["id"]
    anonymous = httpx.get(api.base_url.join(f"/v1/jobs/{job_id}"))
    assert_problem(anonymous, 401, "API key")
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    writer = tenant_clients(scopes=("jobs:write",))
    own = submit(writer, JOB)["id"]
    assert_problem(writer.get(f"/v1/jobs/{own}"), 403, "jobs:read")


def test_a_deeper_path_is_left_to_its_route(api: httpx.Client) -> None:
    """Only `/v1/jobs/{id}` itself is the lane's: `/errors` and `/events` are the routes'."""
    job_id = wait_for(api, submit(api, JOB)["id"])["id"]
    assert api.get(f"/v1/jobs/{job_id}/errors").status_code == 200
    assert_problem(api.get(f"/v1/jobs/{job_id}/nothing"), 404)


def test_a_poll_of_a_job_submitted_here_reads_nothing_from_redis(
    stack: Stack, api: httpx.Client
) -> None:
    """The poll that follows a submission waits on the watcher at once (its rate token from
    the process's lease): Redis runs no read script for it. A read without `wait` still does."""
    client = stack.redis()
    read_script = hashlib.sha1(reader._READ.encode()).hexdigest().encode()
    kept = client.config_get("slowlog-*")
    client.config_set("slowlog-log-slower-than", 0)
    client.config_set("slowlog-max-len", 100_000)
    client.slowlog_reset()
    try:
        job_id = submit(api, JOB)["id"]
        polled = api.get(f"/v1/jobs/{job_id}", params={"wait": 30, "include": "results"})
        read = api.get(f"/v1/jobs/{job_id}", params={"include": "results"})
        logged = client.slowlog_get(100_000)
    finally:
        client.config_set("slowlog-log-slower-than", kept["slowlog-log-slower-than"])
        client.config_set("slowlog-max-len", kept["slowlog-max-len"])
    assert polled.status_code == 200 and polled.json()["status"] == "succeeded"
    assert read.json() == polled.json()
    reads = [
        entry
        for entry in logged
        if entry["command"].startswith(b"EVALSHA " + read_script)
        and job_id.encode() in entry["command"]
    ]
    assert len(reads) == 1  # the plain read's


def test_a_submission_through_a_proxy_links_with_the_scheme_it_forwards(api: httpx.Client) -> None:
    """A request from a trusted proxy (uvicorn trusts 127.0.0.1) with `X-Forwarded-Proto` gets
    links in that scheme: such requests take the proxy-headers middleware the direct lanes
    skip (api.direct); a request without it keeps the server's own scheme."""
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    job = api.post("/v1/jobs", json=JOB, headers=forwarded)
    assert job.status_code == 202, job.text
    assert job.json()["links"]["self"].startswith("https://")
    assert job.headers["location"].startswith("https://")
    polled = api.get(f"/v1/jobs/{job.json()['id']}", params={"wait": 10}, headers=forwarded)
    assert polled.json()["links"]["self"].startswith("https://")
    direct = submit(api, JOB)
    assert direct["links"]["self"].startswith("http://")
