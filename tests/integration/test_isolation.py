"""Tenants: another tenant's jobs and private models answer 404, as if they did not exist."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import skops.io

from inferq.redis_server import free_port
from inferq.storage import Storage
from models.artifacts import untrusted_types
from models.registry import ModelRegistry
from models.schema import describe
from tests.helpers import TenantClients, assert_problem, demo_rows, reference_model, submit
from tests.helpers import wait_for as wait_for_job
from tests.stack import Stack

ROWS = demo_rows("iris", 4).to_dict("records")

# (method, path under the job, the owner's status) of every route that names one job. Add new job
# routes here as they land: each gets the cross-tenant check below. `{delivery}` is the job's
# webhook delivery; DELETE runs on a job of its own.
JOB_ROUTES = [
    ("GET", "", 200),
    ("GET", "?wait=1", 200),
    ("GET", "/results", 200),
    ("GET", "/errors", 200),
    ("GET", "/events", 200),
    ("POST", "/cancel", 200),
    ("GET", "/deliveries", 200),
    ("POST", "/deliveries/{delivery}/redeliver", 202),
    ("DELETE", "", 204),
]


@dataclass
class OwnedJob:
    """A finished job with a webhook delivery, and a client of the tenant that owns it."""

    id: str
    owner: httpx.Client
    tenant: str
    delivery: str


@pytest.fixture(scope="module")
def finished_job(stack: Stack) -> Iterator[OwnedJob]:
    """A succeeded job of a tenant of its own whose webhook (to a closed port) was tried."""
    clients = TenantClients(stack)
    try:
        owner = clients(scopes=("jobs:write", "jobs:read"))
        tenant_admin = clients(tenant=owner.tenant, scopes=("admin",))  # type: ignore[attr-defined]
        assert tenant_admin.post("/v1/webhook-secrets").status_code == 201
        webhook = {"url": f"http://127.0.0.1:{free_port()}/hook"}
        job = submit(owner, {"model": "iris", "dataframe_records": ROWS, "webhook": webhook})
        assert wait_for_job(owner, job["id"])["status"] == "succeeded"
        delivery = _first_delivery(owner, job["id"])
        yield OwnedJob(job["id"], owner, owner.tenant, delivery)  # type: ignore[attr-defined]
    finally:
        clients.close()


def _first_delivery(client: httpx.Client, job_id: str) -> str:
    """The id of the job's webhook delivery once its first attempt is recorded."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        listed = client.get(f"/v1/jobs/{job_id}/deliveries").json()["data"]
        if listed and listed[0]["attempts"]:
            return listed[0]["id"]
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never tried its webhook")


@pytest.mark.parametrize(("method", "suffix", "owner_status"), JOB_ROUTES)
def test_another_tenants_job_is_404_on_every_job_route(
    tenant_clients: TenantClients,
    finished_job: OwnedJob,
    method: str,
    suffix: str,
    owner_status: int,
) -> None:
    """Another tenant with every job scope gets a 404 problem and changes nothing; the owner
    then reaches the job."""
    job_id = finished_job.id
    if method == "DELETE":
        job_id = submit(finished_job.owner, {"model": "iris", "dataframe_records": ROWS})["id"]
        wait_for_job(finished_job.owner, job_id)
    path = f"/v1/jobs/{job_id}{suffix.format(delivery=finished_job.delivery)}"
    stranger = tenant_clients(scopes=("jobs:write", "jobs:read"))
    assert_problem(stranger.request(method, path), 404, job_id)
    answer = finished_job.owner.request(method, path)
    assert answer.status_code == owner_status, answer.text


def test_webhook_secrets_are_the_tenants_own(tenant_clients: TenantClients) -> None:
    """A tenant lists and revokes only its own secrets, and another tenant's does not sign for
    it: its webhook job is refused until it creates one."""
    mine = tenant_clients(scopes=("admin",))
    theirs = tenant_clients(scopes=("admin",))
    made = mine.post("/v1/webhook-secrets")
    assert made.status_code == 201, made.text
    secret_id = made.json()["id"]
    assert _secret_ids(mine) == [secret_id]
    assert _secret_ids(theirs) == []
    assert_problem(theirs.delete(f"/v1/webhook-secrets/{secret_id}"), 404, secret_id)
    assert _secret_ids(mine) == [secret_id]
    body = {
        "model": "iris",
        "dataframe_records": ROWS,
        "webhook": {"url": f"http://127.0.0.1:{free_port()}/hook"},
    }
    assert_problem(theirs.post("/v1/jobs", json=body), 422, "webhook-secrets")
    assert mine.post("/v1/jobs", json=body).status_code == 202


def _secret_ids(client: httpx.Client) -> list[str]:
    return [s["id"] for s in client.get("/v1/webhook-secrets").json()["data"]]


def test_listing_shows_only_the_callers_jobs(
    tenant_clients: TenantClients, finished_job: OwnedJob
) -> None:
    """Another tenant's job never appears in a listing, whatever the filters."""
    job_id = finished_job.id
    assert job_id in {job["id"] for job in finished_job.owner.get("/v1/jobs").json()["data"]}
    stranger = tenant_clients()
    submit(stranger, {"model": "iris", "dataframe_records": ROWS})
    for params in ({}, {"status": "succeeded"}, {"model": "iris"}, {"limit": 500}):
        listed = stranger.get("/v1/jobs", params=params).json()["data"]
        assert job_id not in {job["id"] for job in listed}


def test_the_same_tenant_with_another_key_sees_the_job(
    tenant_clients: TenantClients, finished_job: OwnedJob
) -> None:
    """Jobs belong to the tenant, not to the key: a second key of the tenant reads them."""
    colleague = tenant_clients(tenant=finished_job.tenant, scopes=("jobs:read",))
    assert colleague.get(f"/v1/jobs/{finished_job.id}").json()["status"] == "succeeded"


def test_a_private_model_is_404_for_other_tenants(
    stack: Stack, tenant_clients: TenantClients
) -> None:
    """A tenant's private model is listed, shown and scored for it only; others get 404."""
    owner = tenant_clients()
    name = f"private-{owner.tenant}"  # type: ignore[attr-defined]
    model = reference_model("iris")
    registry = ModelRegistry(stack.redis(), Storage(stack.settings.data_url))
    artifact = skops.io.dumps(model)
    registry.register(
        name,
        artifact,
        "skops",
        describe(model),
        tenant=owner.tenant,  # type: ignore[attr-defined]
        trusted_types=untrusted_types(artifact),
    )
    job = submit(owner, {"model": name, "dataframe_records": ROWS})
    assert owner.get(f"/v1/models/{name}").status_code == 200
    assert name in _model_names(owner)

    stranger = tenant_clients()
    assert name not in _model_names(stranger)
    assert {"iris", "diabetes", "breast_cancer"} <= _model_names(stranger)  # shared demo models
    assert_problem(stranger.get(f"/v1/models/{name}"), 404, name)
    assert_problem(stranger.get(f"/v1/models/{name}/versions/1"), 404, name)
    for ref in (name, f"{name}@1"):
        assert_problem(stranger.post("/v1/jobs", json={"model": ref, "instances": [[1] * 4]}), 404)
    assert wait_for_job(owner, job["id"])["status"] == "succeeded"


def _model_names(client: httpx.Client) -> set[str]:
    return {m["name"] for m in client.get("/v1/models").json()["data"]}
