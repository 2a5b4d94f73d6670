"""Tenants: another tenant's jobs and private models answer 404, as if they did not exist."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import skops.io

from inferq.storage import Storage
from models.artifacts import untrusted_types
from models.registry import ModelRegistry
from models.schema import describe
from tests.helpers import TenantClients, assert_problem, demo_rows, reference_model, submit
from tests.helpers import wait_for as wait_for_job
from tests.stack import Stack

ROWS = demo_rows("iris", 4).to_dict("records")

# (method, path under the job) of every route that names one job. Add new job routes here
# (cancel, delete, deliveries, ...) as they land: each gets the cross-tenant check below.
JOB_ROUTES = [
    ("GET", ""),
    ("GET", "?wait=1"),
    ("GET", "/results"),
    ("GET", "/errors"),
    ("GET", "/events"),
]


@dataclass
class OwnedJob:
    """A finished job and a client of the tenant that owns it."""

    id: str
    owner: httpx.Client
    tenant: str


@pytest.fixture(scope="module")
def finished_job(stack: Stack) -> Iterator[OwnedJob]:
    """A succeeded job of a tenant of its own."""
    clients = TenantClients(stack)
    try:
        owner = clients(scopes=("jobs:write", "jobs:read"))
        job = submit(owner, {"model": "iris", "dataframe_records": ROWS})
        assert wait_for_job(owner, job["id"])["status"] == "succeeded"
        yield OwnedJob(job["id"], owner, owner.tenant)  # type: ignore[attr-defined]
    finally:
        clients.close()


@pytest.mark.parametrize(("method", "suffix"), JOB_ROUTES)
def test_another_tenants_job_is_404_on_every_job_route(
    tenant_clients: TenantClients, finished_job: OwnedJob, method: str, suffix: str
) -> None:
    """The owner reaches the job; another tenant with every job scope gets a 404 problem."""
    path = f"/v1/jobs/{finished_job.id}{suffix}"
    assert finished_job.owner.request(method, path).status_code == 200
    stranger = tenant_clients(scopes=("jobs:write", "jobs:read"))
    assert_problem(stranger.request(method, path), 404, finished_job.id)


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
