"""Usage metering on the real stack: each tenant's jobs, sync requests, rows, CPU time and
bytes, per model and day, read back through `GET /v1/usage` and `/metrics`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.helpers import TenantClients, assert_problem, demo_rows, submit, wait_for
from tests.stack import Stack

IRIS_ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]


def _usage(client: httpx.Client, **params: str) -> dict[str, Any]:
    response = client.get("/v1/usage", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _eventually(read: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool]) -> Any:
    """`read()` once `done` holds of it (the API adds download bytes once a second)."""
    for _ in range(100):
        found = read()
        if done(found):
            return found
        time.sleep(0.1)
    raise AssertionError(f"usage never got there: {found}")


def test_small_jobs_are_counted_with_their_rows_bytes_and_cpu(
    tenant_clients: TenantClients,
) -> None:
    """Two JSON jobs of one tenant count as 2 jobs and their 5 rows, their bodies as bytes in,
    their scoring as CPU time, and the results downloaded as bytes out, under the model and
    today; another tenant sees none of it."""
    client, other = tenant_clients(), tenant_clients()
    sent = 0
    for rows in (IRIS_ROWS, IRIS_ROWS[:2]):
        body = {"model": "iris", "instances": rows}
        request = client.build_request("POST", "/v1/jobs", json=body)
        sent += len(request.content)
        response = client.send(request)
        assert response.status_code == 202, response.text
        job = wait_for(client, response.json()["id"])
        assert job["status"] == "succeeded", job
    downloaded = len(client.get(f"/v1/jobs/{job['id']}/results").content)

    def line(report: dict[str, Any]) -> dict[str, Any]:
        return report["data"][0]

    report = _eventually(
        lambda: _usage(client, group_by="model"), lambda r: r["data"] and line(r)["bytes_out"]
    )
    counted = line(report)
    assert counted["model"] == "iris" and report["tenant"] == client.tenant  # type: ignore[attr-defined]
    assert (counted["jobs"], counted["sync_requests"]) == (2, 0)
    assert (counted["rows_scored"], counted["rows_failed"]) == (5, 0)
    assert counted["bytes_in"] == sent and counted["bytes_out"] == downloaded
    assert counted["cpu_seconds"] > 0
    by_day = _usage(client)
    assert [d for d in by_day["data"] if d["jobs"]] == [
        {"day": by_day["to"], **{k: v for k, v in counted.items() if k != "model"}}
    ]
    assert len(by_day["data"]) == 30 and by_day["total"]["rows_scored"] == 5
    assert _usage(other)["total"]["rows_scored"] == 0


def test_a_file_job_counts_its_upload_and_rows(tenant_clients: TenantClients) -> None:
    """A CSV upload counts as a job, its bytes as bytes in, its rows once scored, and a row
    that cannot be read as failed."""
    client = tenant_clients()
    csv = demo_rows("iris", 500, seed=3).to_csv(index=False).encode() + b"x,1,1,1\n"
    response = client.post(
        "/v1/jobs", params={"model": "iris"}, content=csv, headers={"content-type": "text/csv"}
    )
    assert response.status_code == 202, response.text
    assert wait_for(client, response.json()["id"])["status"] == "succeeded"
    total = _eventually(lambda: _usage(client)["total"], lambda t: t["bytes_in"])
    assert (total["jobs"], total["rows_scored"], total["rows_failed"]) == (1, 500, 1)
    assert total["bytes_in"] == len(csv)


def test_sync_requests_are_counted_with_their_rows_and_bytes(
    tenant_clients: TenantClients,
) -> None:
    """A v2 infer request counts as a sync request (not a job), its rows and both bodies."""
    client = tenant_clients()
    body = {"inputs": [{"name": "x", "shape": [3, 4], "datatype": "FP64", "data": IRIS_ROWS}]}
    request = client.build_request("POST", "/v2/models/iris/infer", json=body)
    response = client.send(request)
    assert response.status_code == 200, response.text
    total = _eventually(lambda: _usage(client)["total"], lambda t: t["bytes_out"])
    assert (total["jobs"], total["sync_requests"], total["rows_scored"]) == (0, 1, 3)
    assert total["bytes_in"] == len(request.content)
    assert total["bytes_out"] == len(response.content)


def test_rows_per_tenant_are_in_metrics(stack: Stack, tenant_clients: TenantClients) -> None:
    """`inferq_tenant_rows_total{tenant}` counts each tenant's rows scored."""
    client = tenant_clients()
    job = submit(client, {"model": "iris", "instances": IRIS_ROWS})
    wait_for(client, job["id"])
    with stack.client(timeout=30) as admin:
        text = admin.get("/metrics").text
    assert f'inferq_tenant_rows_total{{tenant="{client.tenant}"}} 3.0' in text  # type: ignore[attr-defined]


def test_bad_dates_and_ranges_are_422_naming_the_field(api: httpx.Client) -> None:
    """A day that is not YYYY-MM-DD names its parameter; a range that runs backwards or is
    longer than two years names `from`; an unknown grouping names `group_by`."""
    assert_problem(api.get("/v1/usage", params={"from": "2025-13-01"}), 422, "from")
    assert_problem(api.get("/v1/usage", params={"to": "yesterday"}), 422, "to")
    unix_time = api.get("/v1/usage", params={"to": "0"})  # pydantic alone takes it: 1970-01-01
    assert "YYYY-MM-DD" in assert_problem(unix_time, 422, "to")["detail"]
    backwards = api.get("/v1/usage", params={"from": "2025-06-02", "to": "2025-06-01"})
    assert_problem(backwards, 422, "from")
    too_long = api.get("/v1/usage", params={"from": "2020-01-01", "to": "2025-01-01"})
    assert_problem(too_long, 422, "from")
    assert_problem(api.get("/v1/usage", params={"group_by": "week"}), 422, "group_by")
    earliest = _usage(api, to="0001-01-05")  # the 30 days before it start before day one
    assert (earliest["from"], len(earliest["data"])) == ("0001-01-01", 5)


def test_only_an_admin_reads_another_tenants_usage(
    api: httpx.Client, tenant_clients: TenantClients
) -> None:
    """A tenant asking for another tenant's usage gets 404; an admin gets it."""
    client, other = tenant_clients(), tenant_clients()
    job = submit(other, {"model": "iris", "instances": IRIS_ROWS[:1]})
    wait_for(other, job["id"])
    assert_problem(client.get("/v1/usage", params={"tenant": other.tenant}), 404)  # type: ignore[attr-defined]
    report = _usage(api, tenant=other.tenant)  # type: ignore[attr-defined]
    assert report["tenant"] == other.tenant and report["total"]["rows_scored"] == 1  # type: ignore[attr-defined]
