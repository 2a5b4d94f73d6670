"""Per-tenant limits: rows per job (413), jobs in flight and request rate (429 + Retry-After)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from inferq.jobs.keys import tenant_jobs
from tests.helpers import TenantClients, assert_problem, demo_rows, submit, wait_for
from tests.stack import Stack

MAX_ROWS = 5
MAX_IN_FLIGHT = 2
BURST = 12


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack with small limits and, at first, no worker (jobs stay in flight)."""
    stack = Stack(
        Path(tmp_path_factory.mktemp("limited")),
        max_rows_per_job=str(MAX_ROWS),
        max_jobs_in_flight=str(MAX_IN_FLIGHT),
        rate_limit_burst=str(BURST),
        rate_limit_per_second="0.05",  # one more request every 20 s: none during a test
        max_body_bytes="4096",
    )
    with stack.running(workers=None):
        yield stack


@pytest.fixture
def clients(limited: Stack) -> Iterator[TenantClients]:
    """Clients of the limited stack, each of a tenant of its own."""
    made = TenantClients(limited)
    try:
        yield made
    finally:
        made.close()


def job(rows: int) -> dict:
    """An iris job of `rows` rows."""
    return {"model": "iris", "dataframe_records": demo_rows("iris", rows).to_dict("records")}


def test_a_job_over_the_row_limit_is_413(clients: TenantClients) -> None:
    """A job with more rows than the limit is refused; one at the limit is accepted."""
    client = clients()
    assert_problem(client.post("/v1/jobs", json=job(MAX_ROWS + 1)), 413, str(MAX_ROWS))
    submit(client, job(MAX_ROWS))


def test_a_body_over_the_size_limit_is_413(clients: TenantClients) -> None:
    """A body over INFERQ_MAX_BODY_BYTES is refused before it is parsed."""
    answer = clients().post("/v1/jobs", content=b"{" + b" " * 5000 + b"}")
    assert_problem(answer, 413, "4096")


def test_a_vanished_job_does_not_hold_a_slot(limited: Stack, clients: TenantClients) -> None:
    """A job whose record is gone without ending (expired, lost) stops counting at the limit."""
    client = clients()
    jobs = [submit(client, job(1)) for _ in range(MAX_IN_FLIGHT)]
    limited.redis().delete(*(f"inferq:job:{j['id']}" for j in jobs))  # as if expired
    submit(client, job(1))


def test_jobs_in_flight_are_limited_per_tenant_and_freed_when_they_end(
    limited: Stack, clients: TenantClients
) -> None:
    """At the limit a tenant gets 429 + Retry-After, others do not; ended jobs free the slots."""
    busy, other = clients(), clients()
    first = [submit(busy, job(1)) for _ in range(MAX_IN_FLIGHT)]
    refused = busy.post("/v1/jobs", json=job(1))
    assert_problem(refused, 429, "unfinished jobs")
    assert int(refused.headers["retry-after"]) >= 1
    submit(other, job(1))  # another tenant is not held back
    limited.start_worker(concurrency=1)
    for queued in first:
        assert wait_for(busy, queued["id"])["status"] == "succeeded"
    # The ending itself took the jobs out of the count (not a later clean-up at the limit).
    assert limited.redis().scard(f"inferq:inflight:{busy.tenant}") == 0  # type: ignore[attr-defined]
    submit(busy, job(1))


def test_request_rate_is_limited_per_tenant(clients: TenantClients) -> None:
    """Past its burst a tenant gets 429 with Retry-After while another tenant is served."""
    hasty, calm = clients(), clients()
    answers = [hasty.get("/v1/jobs") for _ in range(BURST + 1)]
    assert [a.status_code for a in answers[:BURST]] == [200] * BURST
    assert_problem(answers[-1], 429, "requests per second")
    assert int(answers[-1].headers["retry-after"]) >= 1
    assert calm.get("/v1/jobs").status_code == 200


def test_every_job_submission_counts_against_the_rate(
    limited: Stack, clients: TenantClients
) -> None:
    """Accepted, over-limit and malformed submissions each take a token (the accepted in the
    step that stores the job); past the burst a job is refused with 429 and not stored."""
    hasty = clients()
    accepted = [submit(hasty, job(1)) for _ in range(2)]
    assert_problem(hasty.post("/v1/jobs", json=job(MAX_ROWS + 1)), 413, "rows")
    for _ in range(BURST - 3):
        assert_problem(hasty.post("/v1/jobs", json={"model": "iris", "instances": 3}), 422)
    over = hasty.post("/v1/jobs", json=job(1))
    assert_problem(over, 429, "requests per second")
    assert int(over.headers["retry-after"]) >= 1
    stored = limited.redis().zrange(tenant_jobs(hasty.tenant), 0, -1)  # type: ignore[attr-defined]
    assert sorted(j.decode() for j in stored) == sorted(a["id"] for a in accepted)


def test_an_admin_gives_one_tenant_its_own_limits(limited: Stack, clients: TenantClients) -> None:
    """A tenant's own row limit applies to it alone, shows in its limits, and can be reset."""
    tuned, other = clients(), clients()
    path = f"/v1/tenants/{tuned.tenant}/limits"  # type: ignore[attr-defined]
    with limited.client() as admin:
        answer = admin.put(path, json={"max_rows_per_job": 2})
        assert answer.status_code == 200, answer.text
        assert answer.json()["own"] == ["max_rows_per_job"]
        assert_problem(tuned.post("/v1/jobs", json=job(3)), 413, "limit is 2")
        submit(other, job(3))
        shown = tuned.get(path).json()
        assert shown["limits"]["max_rows_per_job"] == 2
        assert shown["limits"]["max_jobs_in_flight"] == MAX_IN_FLIGHT
        admin.put(path, json={"max_rows_per_job": None})
    submit(tuned, job(3))


def test_a_tenant_reads_only_its_own_limits_and_cannot_change_them(
    clients: TenantClients,
) -> None:
    """Another tenant's limits are a 404; changing limits needs the admin scope."""
    first, second = clients(), clients()
    own = f"/v1/tenants/{first.tenant}/limits"  # type: ignore[attr-defined]
    assert first.get(own).json()["tenant"] == first.tenant  # type: ignore[attr-defined]
    assert_problem(second.get(own), 404)
    assert_problem(first.put(own, json={"rate_limit_burst": 1000}), 403, "admin")


def test_a_tenants_own_burst_replaces_the_default(limited: Stack, clients: TenantClients) -> None:
    """With its burst set to 2 a tenant's third quick request is a 429."""
    tight = clients()
    with limited.client() as admin:
        path = f"/v1/tenants/{tight.tenant}/limits"  # type: ignore[attr-defined]
        assert admin.put(path, json={"rate_limit_burst": 2}).status_code == 200
    assert [tight.get("/v1/models").status_code for _ in range(3)] == [200, 200, 429]


def test_every_poll_counts_against_the_rate(clients: TenantClients) -> None:
    """Reads of a job, plain, long-polled, of an unknown job or with a query the route
    answers, each take a token; past the burst a read is 429 with Retry-After."""
    hasty = clients()
    job_id = submit(hasty, job(1))["id"]
    answers = [hasty.get(f"/v1/jobs/{job_id}") for _ in range(BURST - 5)]
    answers.append(hasty.get(f"/v1/jobs/{job_id}", params={"wait": "0.1"}))
    answers.append(hasty.get(f"/v1/jobs/{job_id}", params={"include": "results"}))
    answers.append(hasty.get("/v1/jobs/job_unknown"))
    answers.append(hasty.get(f"/v1/jobs/{job_id}", params={"wait": "soon"}))
    codes = [a.status_code for a in answers]
    assert codes == [200] * (BURST - 3) + [404, 422], codes
    over = hasty.get(f"/v1/jobs/{job_id}")
    assert_problem(over, 429, "requests per second")
    assert int(over.headers["retry-after"]) >= 1
