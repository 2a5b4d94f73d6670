"""API keys: every /v1 route wants one, scopes are enforced, revocation is immediate."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.helpers import TenantClients, assert_problem, demo_rows, submit, wait_for
from tests.model_fixtures import categorical_pipeline, skops_bytes
from tests.stack import Stack

IRIS_JOB = {"model": "iris", "dataframe_records": demo_rows("iris", 3).to_dict("records")}
JOB = "/v1/jobs/job_01M83ZXD7CV4ETARR9WMYXEVV7"


@dataclass(frozen=True)
class Upload:
    """A multipart body: a model artifact and form fields."""

    artifact: bytes
    fields: dict[str, str]

    def request_kwargs(self) -> dict[str, Any]:
        """What httpx needs to send this form."""
        return {"files": {"file": ("model.skops", self.artifact)}, "data": self.fields}


MODEL_UPLOAD = Upload(skops_bytes(categorical_pipeline()), {"format": "skops"})

# (method, path, JSON body, the scope it needs). Add each new route here as it lands; the
# missing-key test below covers new routes by itself (it reads /openapi.json).
SCOPED_ROUTES = [
    ("POST", "/v1/jobs", IRIS_JOB, "jobs:write"),
    ("GET", "/v1/jobs", None, "jobs:read"),
    ("GET", JOB, None, "jobs:read"),
    ("POST", "/v1/keys", {"tenant": "acme", "scopes": ["jobs:read"]}, "admin"),
    ("GET", "/v1/keys", None, "admin"),
    ("DELETE", "/v1/keys/key_01M83ZXD7CV4ETARR9WMYXEVV7", None, "admin"),
    ("PUT", "/v1/tenants/acme/limits", {"max_jobs_in_flight": 5}, "admin"),
    ("POST", f"{JOB}/cancel", None, "jobs:write"),
    ("DELETE", JOB, None, "jobs:write"),
    ("GET", f"{JOB}/deliveries", None, "jobs:read"),
    ("POST", f"{JOB}/deliveries/msg_01M83ZXD7CV4ETARR9WMYXEVV7/redeliver", None, "jobs:write"),
    ("POST", "/v1/webhook-secrets", {}, "admin"),
    ("GET", "/v1/webhook-secrets", None, "admin"),
    ("POST", "/v1/models/scoped-upload/versions", MODEL_UPLOAD, "models:write"),
    ("PUT", "/v1/models/iris/aliases/canary", {"version": 1}, "models:write"),
    ("DELETE", "/v1/models/iris/aliases/canary", None, "models:write"),
    ("POST", "/v1/models/iris/aliases/production/promote", None, "models:write"),
]
ALL_SCOPES = ("jobs:write", "jobs:read", "models:write", "admin")


def v1_operations(api: httpx.Client) -> list[tuple[str, str]]:
    """Every (method, path) under /v1 the API publishes, path parameters filled in."""
    paths = api.get("/openapi.json").json()["paths"]
    return [
        (method.upper(), re.sub(r"\{[^}]+\}", "x1", path))
        for path, operations in paths.items()
        if path.startswith("/v1/")
        for method in operations
    ]


def test_every_v1_route_refuses_a_missing_or_bad_key(stack: Stack) -> None:
    """Without a key, or with an unknown one, every /v1 operation is a 401 problem."""
    with httpx.Client(base_url=stack.api_url, timeout=30) as anonymous:
        operations = v1_operations(anonymous)
        assert len(operations) >= 10, operations
        for method, path in operations:
            answer = anonymous.request(method, path, json={})
            body = assert_problem(answer, 401, "API key")
            assert answer.headers["www-authenticate"].startswith("Bearer"), (method, path)
            assert "Traceback" not in answer.text and body["status"] == 401
    with stack.client("iqk_not-a-key") as wrong:
        for method, path in operations:
            assert_problem(wrong.request(method, path, json={}), 401, "not valid")


def test_a_key_without_bearer_scheme_is_401(stack: Stack) -> None:
    """A key sent as Basic credentials (or bare) is not accepted."""
    for header in (f"Basic {stack.admin_key}", stack.admin_key):
        answer = httpx.get(f"{stack.api_url}/v1/jobs", headers={"Authorization": header})
        assert_problem(answer, 401)


def test_health_and_schema_need_no_key(stack: Stack) -> None:
    """Probes and the OpenAPI document are open: load balancers and docs carry no key."""
    for path in ("/healthz", "/readyz", "/openapi.json"):
        assert httpx.get(f"{stack.api_url}{path}").status_code == 200, path


@pytest.mark.parametrize(("method", "path", "body", "scope"), SCOPED_ROUTES)
def test_a_key_lacking_the_scope_is_403(
    tenant_clients: TenantClients, method: str, path: str, body: object, scope: str
) -> None:
    """A key with every scope but the one a route needs gets 403 naming that scope."""
    others = tuple(s for s in ALL_SCOPES if s not in (scope, "admin"))
    client = tenant_clients(scopes=others)
    sent = body.request_kwargs() if isinstance(body, Upload) else {"json": body}
    assert_problem(client.request(method, path, **sent), 403, scope)


def test_a_read_only_key_cannot_submit_but_can_read(tenant_clients: TenantClients) -> None:
    """A leaked jobs:read key lists jobs and models; it cannot submit, upload or manage keys."""
    reader = tenant_clients(scopes=("jobs:read",))
    assert reader.get("/v1/jobs").status_code == 200
    assert reader.get("/v1/models").status_code == 200
    assert_problem(reader.post("/v1/jobs", json=IRIS_JOB), 403, "jobs:write")
    upload = reader.post("/v1/models/read-only-upload/versions", **MODEL_UPLOAD.request_kwargs())
    assert_problem(upload, 403, "models:write")
    assert_problem(reader.post("/v1/keys", json={"tenant": "x", "scopes": ["admin"]}), 403)


def test_keys_api_creates_lists_and_revokes_at_once(api: httpx.Client, stack: Stack) -> None:
    """A created key works at once, is listed without its secret, and stops when revoked."""
    answer = api.post("/v1/keys", json={"tenant": "acme", "scopes": ["jobs:read"], "name": "crm"})
    assert answer.status_code == 201, answer.text
    created = answer.json()
    key, key_id = created["key"], created["id"]
    assert key.startswith("iqk_") and len(key) > 40
    with stack.client(key) as acme:
        assert acme.get("/v1/jobs").status_code == 200
        listed = {k["id"]: k for k in api.get("/v1/keys", params={"tenant": "acme"}).json()["data"]}
        assert listed[key_id]["scopes"] == ["jobs:read"] and listed[key_id]["name"] == "crm"
        assert key not in api.get("/v1/keys").text
        assert api.delete(f"/v1/keys/{key_id}").status_code == 204
        assert_problem(acme.get("/v1/jobs"), 401, "not valid")
    assert_problem(api.delete(f"/v1/keys/{key_id}"), 404, key_id)


def test_keys_are_stored_only_as_digests(api: httpx.Client, stack: Stack) -> None:
    """No value in Redis contains a created key; its SHA-256 digest names where it is kept."""
    created = api.post("/v1/keys", json={"tenant": "acme", "scopes": ["jobs:read"]}).json()
    client = stack.redis()
    for name in client.scan_iter("inferq:apikey*"):
        kind = client.type(name).decode()
        values = [client.get(name)] if kind == "string" else client.hvals(name)
        assert all(created["key"].encode() not in value for value in values)
    assert api.delete(f"/v1/keys/{created['id']}").status_code == 204


def test_invalid_key_requests_are_422(api: httpx.Client) -> None:
    """Unknown scopes and unusable tenant names are refused naming the field."""
    bad_scope = api.post("/v1/keys", json={"tenant": "acme", "scopes": ["root"]})
    assert_problem(bad_scope, 422, "scopes")
    bad_tenant = api.post("/v1/keys", json={"tenant": "Acme Corp!", "scopes": ["jobs:read"]})
    assert_problem(bad_tenant, 422, "tenant")


def test_the_admin_of_default_works_within_its_own_tenant(
    api: httpx.Client, tenant_clients: TenantClients
) -> None:
    """The bootstrap admin key submits as tenant default and cannot see another tenant's job."""
    other = tenant_clients()
    job = submit(other, IRIS_JOB)
    assert_problem(api.get(f"/v1/jobs/{job['id']}"), 404, job["id"])
    assert wait_for(other, job["id"])["status"] == "succeeded"
