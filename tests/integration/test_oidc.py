"""OIDC bearer tokens on a real stack with a real local issuer: they submit and read jobs like
API keys, under the same tenant isolation; bad tokens are 401 and leak nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import TenantClients, assert_problem, demo_rows, new_tenant, submit, wait_for
from tests.oidc_issuer import AUDIENCE, Issuer, tampered
from tests.stack import Stack

JOB = {"model": "iris", "dataframe_records": demo_rows("iris", 3).to_dict("records")}


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    """A local issuer with an RSA and an EC key."""
    issuer = Issuer()
    with issuer.serving():
        yield issuer


@pytest.fixture(scope="module")
def oidc_stack(issuer: Issuer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack that accepts the issuer's tokens beside API keys."""
    stack = Stack(
        tmp_path_factory.mktemp("oidc"),
        oidc_issuer=issuer.url,
        oidc_audience=AUDIENCE,
        oidc_jwks_refresh_seconds="0",
    )
    with stack.running(workers=1):
        yield stack


@pytest.fixture
def tenant_keys(oidc_stack: Stack) -> Iterator[TenantClients]:
    """Clients of the OIDC stack with API keys of chosen tenants."""
    clients = TenantClients(oidc_stack)
    try:
        yield clients
    finally:
        clients.close()


def token_client(stack: Stack, token: str) -> httpx.Client:
    """A client of the stack sending `token` as its bearer credential."""
    return stack.client(token, timeout=30)


def test_a_token_submits_a_job_and_reads_it_within_its_tenant(
    oidc_stack: Stack, issuer: Issuer, tenant_keys: TenantClients
) -> None:
    """A valid token submits a job (the submission lane) and reads it and its results (the
    routes); an API key of the same tenant sees the job, other tenants' key and token do not."""
    tenant = new_tenant()
    for key in issuer.keys:  # RS256, then ES256
        with token_client(oidc_stack, issuer.token(issuer.claims(tenant), key)) as client:
            job = submit(client, JOB)
            assert wait_for(client, job["id"])["status"] == "succeeded"
            assert len(client.get(f"/v1/jobs/{job['id']}/results").json()["data"]) == 3
            assert job["id"] in {j["id"] for j in client.get("/v1/jobs").json()["data"]}
    same_tenant = tenant_keys(tenant=tenant, scopes=("jobs:read",))
    assert same_tenant.get(f"/v1/jobs/{job['id']}").json()["status"] == "succeeded"
    assert_problem(tenant_keys().get(f"/v1/jobs/{job['id']}"), 404)
    with token_client(oidc_stack, issuer.token(issuer.claims(new_tenant()))) as other:
        assert_problem(other.get(f"/v1/jobs/{job['id']}"), 404)
        assert job["id"] not in other.get("/v1/jobs").text


def bad_tokens(issuer: Issuer, victim: str) -> dict[str, str]:
    """Tokens that must not let anyone in, by what is wrong with them; each names `victim`."""
    claims = issuer.claims(victim)
    past = int(time.time()) - 7200
    mallory = issuer.token(issuer.claims("mallory"))
    return {
        "expired": issuer.token({**claims, "iat": past, "nbf": past, "exp": past + 60}),
        "wrong audience": issuer.token({**claims, "aud": "another-api"}),
        "wrong issuer": issuer.token({**claims, "iss": "https://evil.example.com"}),
        "alg none": issuer.unsigned(claims),
        "HS256 with the public key": issuer.hs256_with_public_key(claims),
        "tampered payload": tampered(mallory, tenant=victim),
    }


def test_bad_tokens_are_401_and_leak_nothing(oidc_stack: Stack, issuer: Issuer) -> None:
    """Expired, wrong audience or issuer, unsigned, HMAC-confused and tampered tokens are each
    a 401 problem on reads and on submission, and show nothing of the tenant they name."""
    victim = new_tenant()
    with token_client(oidc_stack, issuer.token(issuer.claims(victim))) as owner:
        job = submit(owner, JOB)
        wait_for(owner, job["id"])
    for what, token in bad_tokens(issuer, victim).items():
        with token_client(oidc_stack, token) as client:
            for answer in (
                client.get(f"/v1/jobs/{job['id']}"),
                client.get(f"/v1/jobs/{job['id']}/results"),
                client.get("/v1/jobs"),
                client.post("/v1/jobs", json=JOB),
            ):
                assert answer.status_code == 401, (what, answer.text)
                assert_problem(answer, 401)
                assert answer.headers["www-authenticate"].startswith("Bearer")
                assert victim not in answer.text and "succeeded" not in answer.text, what
    with token_client(oidc_stack, issuer.token(issuer.claims(victim))) as owner:
        assert len(owner.get("/v1/jobs").json()["data"]) == 1  # no job was added by them


def test_tokens_without_tenant_or_scope_are_403_saying_why(
    oidc_stack: Stack, issuer: Issuer
) -> None:
    """A valid token without the tenant claim, or without inferq's scopes, is a 403 naming what
    is missing; a token without `jobs:write` cannot submit."""
    cases = [
        (issuer.claims(None), "no 'tenant' claim"),
        (issuer.claims(new_tenant(), "openid profile"), "none of inferq's scopes"),
        ({**issuer.claims(new_tenant(), None), "scp": "email"}, "none of inferq's scopes"),
    ]
    for claims, reason in cases:
        with token_client(oidc_stack, issuer.token(claims)) as client:
            assert_problem(client.get("/v1/jobs"), 403, reason)
            assert_problem(client.post("/v1/jobs", json=JOB), 403, reason)
    reader = issuer.token({**issuer.claims(new_tenant(), None), "scp": ["jobs:read"]})
    with token_client(oidc_stack, reader) as client:
        assert client.get("/v1/jobs").status_code == 200
        assert_problem(client.post("/v1/jobs", json=JOB), 403, "jobs:write")
        assert_problem(client.post("/v1/keys", json={"tenant": "x", "scopes": []}), 403, "admin")


def test_a_key_rotated_at_the_issuer_is_picked_up(oidc_stack: Stack, issuer: Issuer) -> None:
    """After the issuer rotates its key, tokens of the new key work at once and fresh tokens of
    the removed key are refused; API keys work throughout."""
    tenant = new_tenant()
    old_key = issuer.keys[0]
    with token_client(oidc_stack, issuer.token(issuer.claims(tenant))) as before:
        assert before.get("/v1/jobs").status_code == 200
    new_key = issuer.rotate()
    with token_client(oidc_stack, issuer.token(issuer.claims(tenant), new_key)) as after:
        assert wait_for(after, submit(after, JOB)["id"])["status"] == "succeeded"
    with token_client(oidc_stack, issuer.token(issuer.claims(tenant), old_key)) as removed:
        assert_problem(removed.get("/v1/jobs"), 401, "not signed by a key")
    with oidc_stack.client() as admin:
        assert admin.get("/v1/jobs").status_code == 200


def test_the_stack_log_has_no_tokens(oidc_stack: Stack, issuer: Issuer) -> None:
    """Tokens are credentials: the API's log never holds one."""
    token = issuer.token(issuer.claims(new_tenant()))
    with token_client(oidc_stack, token) as client:
        assert client.get("/v1/jobs").status_code == 200
    logs = "".join(p.read_text(errors="replace") for p in Path(oidc_stack.base).glob("*.log"))
    assert token.split(".")[2] not in logs
