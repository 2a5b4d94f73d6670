"""Webhooks through the real API, workers and an HTTP receiver process."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from inferq.jobs.keys import WEBHOOKS_DUE
from inferq.jobs.record import JobStatus
from inferq.jobs.store import JobStore
from inferq.redis_server import free_port
from inferq.timefmt import now_rfc3339
from tests.helpers import assert_problem, demo_rows, reference_model, submit, wait_for
from tests.stack import Stack
from tests.webhook_receiver import Receiver

ROWS = demo_rows("iris", 5)


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    """A receiver process of its own, answering 200 unless told otherwise."""
    with open(tmp_path / "receiver.log", "ab") as log:
        started = Receiver(free_port(), log).start()
        try:
            yield started
        finally:
            started.stop()


@pytest.fixture
def secret(api: httpx.Client) -> str:
    """A fresh webhook secret that is the only one signing the default tenant's deliveries."""
    created = api.post("/v1/webhook-secrets", json={"previous_valid_seconds": 0})
    assert created.status_code == 201, created.text
    return created.json()["secret"]


def job_with_webhook(api: httpx.Client, url: str, **webhook: Any) -> dict[str, Any]:
    """Submit a small iris job whose webhook goes to `url`; returns the job once it has ended."""
    body = {"model": "iris", "instances": ROWS.to_numpy().tolist(), "webhook": {"url": url}}
    body["webhook"].update(webhook)
    return wait_for(api, submit(api, body)["id"])


def wait_delivery(
    api: httpx.Client, job_id: str, done: Callable[[dict[str, Any]], bool], seconds: float = 60
) -> dict[str, Any]:
    """The job's delivery once `done` holds for it; fails the test if it never does."""
    deadline = time.monotonic() + seconds
    delivery: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        listed = api.get(f"/v1/jobs/{job_id}/deliveries").json()["data"]
        delivery = listed[0] if listed else None
        if delivery is not None and done(delivery):
            return delivery
        time.sleep(0.1)
    raise AssertionError(f"delivery of {job_id} never got there: {delivery}")


def ended(delivery: dict[str, Any]) -> bool:
    """Whether no more attempts are scheduled."""
    return delivery["status"] != "pending"


def verify(secret: str, request: dict[str, Any]) -> dict[str, Any]:
    """The payload of a received request, checked with the standardwebhooks package."""
    return Webhook(secret).verify(request["body"], request["headers"])


def test_delivery_is_signed_and_carries_the_job(
    api: httpx.Client, receiver: Receiver, secret: str
) -> None:
    """A succeeded job's webhook verifies with standardwebhooks and carries the job and rows."""
    job = job_with_webhook(api, receiver.url)
    delivery = wait_delivery(api, job["id"], ended)
    assert delivery["status"] == "succeeded" and delivery["event"] == "job.succeeded"
    [request] = receiver.received()
    assert request["headers"]["webhook-id"] == delivery["id"]
    payload = verify(secret, request)
    assert payload["type"] == "job.succeeded" and payload["timestamp"] == job["finished_at"]
    shown = api.get(f"/v1/jobs/{job['id']}").json()
    assert {k: v for k, v in payload["data"].items() if k not in ("links", "results")} == {
        k: v for k, v in shown.items() if k not in ("links", "results")
    }
    results = payload["data"]["results"]
    assert results["columns"] == ["prediction"]
    assert [row[0] for row in results["data"]] == reference_model("iris").predict(ROWS).tolist()
    [attempt] = delivery["attempts"]
    assert attempt["status_code"] == 200 and attempt["error"] is None
    assert attempt["latency_ms"] > 0 and attempt["trigger"] == "scheduled"


def test_a_receiver_that_fails_then_recovers_gets_the_event_once(
    api: httpx.Client, receiver: Receiver, secret: str
) -> None:
    """Two 500s are retried; the third attempt is the one 2xx, and then sending stops."""
    receiver.plan({"status": 500}, {"status": 500})
    job = job_with_webhook(api, receiver.url)
    delivery = wait_delivery(api, job["id"], ended)
    assert delivery["status"] == "succeeded"
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 200]
    assert [a["error"] for a in delivery["attempts"]] == ["HTTP 500", "HTTP 500", None]
    received = receiver.received()
    assert len(received) == 3
    assert {r["headers"]["webhook-id"] for r in received} == {delivery["id"]}
    assert all(verify(secret, r)["data"]["id"] == job["id"] for r in received)
    assert api.get(f"/v1/jobs/{job['id']}").json()["status"] == "succeeded"


def test_retry_after_is_honoured(api: httpx.Client, receiver: Receiver, secret: str) -> None:
    """A 503 with `Retry-After: 2` delays the retry by at least 2 s (the schedule says 0.2 s)."""
    receiver.plan({"status": 503, "headers": {"Retry-After": "2"}})
    job = job_with_webhook(api, receiver.url)
    delivery = wait_delivery(api, job["id"], ended)
    assert [a["status_code"] for a in delivery["attempts"]] == [503, 200]
    first, second = receiver.received()
    assert second["at"] - first["at"] >= 2.0


def test_410_stops_retries(api: httpx.Client, receiver: Receiver, secret: str) -> None:
    """A 410 answer ends the delivery as gone after one attempt."""
    receiver.plan({"status": 410})
    job = job_with_webhook(api, receiver.url)
    delivery = wait_delivery(api, job["id"], ended)
    assert delivery["status"] == "gone" and delivery["next_attempt_at"] is None
    assert [a["status_code"] for a in delivery["attempts"]] == [410]
    assert len(receiver.received()) == 1


def test_redirects_are_not_followed(api: httpx.Client, receiver: Receiver, secret: str) -> None:
    """A 302 is a failed attempt; the Location is never called."""
    elsewhere = receiver.url.replace("/hook", "/elsewhere")
    receiver.plan({"status": 302, "headers": {"Location": elsewhere}})
    job = job_with_webhook(api, receiver.url)
    delivery = wait_delivery(api, job["id"], ended)
    assert [a["status_code"] for a in delivery["attempts"]] == [302, 200]
    assert "redirects are not followed" in delivery["attempts"][0]["error"]
    assert [r["path"] for r in receiver.received()] == ["/hook", "/hook"]


def test_a_receiver_that_is_down_records_failures_and_redeliver_sends_again(
    api: httpx.Client, tmp_path: Path, secret: str
) -> None:
    """Each scheduled attempt at a closed port is recorded; redeliver then reaches the receiver."""
    port = free_port()
    job = job_with_webhook(api, f"http://127.0.0.1:{port}/hook", events=["job.succeeded"])
    delivery = wait_delivery(api, job["id"], ended)
    assert delivery["status"] == "failed"
    attempts = delivery["attempts"]
    assert len(attempts) == 4  # the first attempt and three retries (INFERQ_WEBHOOK_RETRY_DELAYS)
    assert all(a["status_code"] is None and "ConnectError" in a["error"] for a in attempts)
    assert api.get(f"/v1/jobs/{job['id']}").json()["status"] == "succeeded"
    with open(tmp_path / "receiver.log", "ab") as log:
        receiver = Receiver(port, log).start()
        try:
            answer = api.post(delivery["links"]["redeliver"])
            assert answer.status_code == 202, answer.text
            again = wait_delivery(api, job["id"], lambda d: len(d["attempts"]) == 5)
            [request] = receiver.received()
        finally:
            receiver.stop()
    assert again["status"] == "succeeded"
    assert again["attempts"][-1]["trigger"] == "manual"
    assert again["attempts"][-1]["status_code"] == 200
    assert request["headers"]["webhook-id"] == delivery["id"]
    assert verify(secret, request)["data"]["id"] == job["id"]


def test_redeliver_an_unknown_delivery_is_404(
    api: httpx.Client, receiver: Receiver, secret: str
) -> None:
    """Redelivering with an id the job does not have answers 404."""
    job = job_with_webhook(api, receiver.url)
    wait_delivery(api, job["id"], ended)
    answer = api.post(f"/v1/jobs/{job['id']}/deliveries/msg_NOPE/redeliver")
    assert_problem(answer, 404, "msg_NOPE")


def test_events_not_subscribed_are_not_sent(
    api: httpx.Client, stack: Stack, receiver: Receiver, secret: str
) -> None:
    """A job subscribed only to job.failed that succeeds sends nothing."""
    quiet = job_with_webhook(api, receiver.url, events=["job.failed"])
    loud = job_with_webhook(api, receiver.url)
    wait_delivery(api, loud["id"], ended)
    deadline = time.monotonic() + 60
    while stack.redis().zscore(WEBHOOKS_DUE, quiet["id"]) is not None:
        assert time.monotonic() < deadline, "the unsubscribed ending was never looked at"
        time.sleep(0.1)
    assert api.get(f"/v1/jobs/{quiet['id']}/deliveries").json() == {"data": []}
    assert [verify(secret, r)["data"]["id"] for r in receiver.received()] == [loud["id"]]


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://192.168.0.10:8080/hook",
        "http://[::1]/hook",
        "http://[fd00:ec2::254]/hook",
        "http://100.100.100.200/hook",
        "ftp://example.com/hook",
    ],
)
def test_unsafe_webhook_urls_are_refused(api: httpx.Client, secret: str, url: str) -> None:
    """Private, loopback, link-local and metadata addresses are a 422 naming webhook.url."""
    body = {"model": "iris", "instances": [[5.1, 3.5, 1.4, 0.2]], "webhook": {"url": url}}
    answer = api.post("/v1/jobs", json=body)
    problem = assert_problem(answer, 422)
    assert problem["errors"][0]["loc"] == ["body", "webhook", "url"]


def test_secret_rotation_signs_with_both_then_one(
    api: httpx.Client, receiver: Receiver, secret: str
) -> None:
    """During a rotation each delivery carries both signatures; after revoking, only the new."""
    rotated = api.post("/v1/webhook-secrets").json()
    listed = api.get("/v1/webhook-secrets").json()["data"]
    assert [s["current"] for s in listed] == [True, False]
    assert all("secret" not in s for s in listed) and listed[1]["expires_at"]
    job = job_with_webhook(api, receiver.url)
    wait_delivery(api, job["id"], ended)
    [request] = receiver.received()
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2
    verify(secret, request)
    verify(rotated["secret"], request)
    assert api.delete(f"/v1/webhook-secrets/{listed[1]['id']}").status_code == 204
    job = job_with_webhook(api, receiver.url)
    wait_delivery(api, job["id"], ended)
    latest = receiver.received()[-1]
    assert len(latest["headers"]["webhook-signature"].split(" ")) == 1
    verify(rotated["secret"], latest)
    with pytest.raises(Exception, match="No matching signature"):
        verify(secret, latest)


def test_a_webhook_without_any_secret_is_refused(api: httpx.Client, receiver: Receiver) -> None:
    """With every secret revoked, a job with a webhook is a 422 that says to create one."""
    for listed in api.get("/v1/webhook-secrets").json()["data"]:
        api.delete(f"/v1/webhook-secrets/{listed['id']}")
    body = {"model": "iris", "instances": [[5.1, 3.5, 1.4, 0.2]], "webhook": {"url": receiver.url}}
    assert_problem(api.post("/v1/jobs", json=body), 422, "webhook-secrets")


def test_failed_and_cancelled_jobs_send_their_events(
    isolated_stack: Stack, receiver: Receiver
) -> None:
    """A job failing in the worker sends job.failed; a job cancelled while queued, job.cancelled."""
    body = {"model": "iris", "instances": [[5.1, 3.5, 1.4, 0.2]], "webhook": {"url": receiver.url}}
    with isolated_stack.api_client(timeout=60) as client:
        secret = client.post("/v1/webhook-secrets").json()["secret"]
        failing, cancelled = submit(client, body), submit(client, body)
        # No worker runs yet: the first job's rows vanish (it will fail with input_missing) and
        # the second is cancelled the way the cancel route ends a queued job.
        isolated_stack.redis().delete(f"inferq:job:{failing['id']}:input")
        store = JobStore(isolated_stack.redis(), isolated_stack.settings.retention_seconds)
        assert store.transition(
            cancelled["id"], [JobStatus.QUEUED], JobStatus.CANCELLED, finished_at=now_rfc3339()
        )
        isolated_stack.start_worker(concurrency=1)
        assert wait_for(client, failing["id"])["status"] == "failed"
        deliveries = {j["id"]: wait_delivery(client, j["id"], ended) for j in (failing, cancelled)}
    assert deliveries[failing["id"]]["event"] == "job.failed"
    assert deliveries[cancelled["id"]]["event"] == "job.cancelled"
    assert all(d["status"] == "succeeded" for d in deliveries.values())
    payloads = {p["data"]["id"]: p for p in (verify(secret, r) for r in receiver.received())}
    assert payloads[failing["id"]]["type"] == "job.failed"
    assert payloads[failing["id"]]["data"]["error"]["code"] == "input_missing"
    assert payloads[cancelled["id"]]["type"] == "job.cancelled"
    assert payloads[cancelled["id"]]["data"]["status"] == "cancelled"


def test_a_delivery_survives_a_worker_killed_mid_send(
    isolated_stack: Stack, receiver: Receiver
) -> None:
    """A worker killed while sending: another worker sends the same message once its lease ends."""
    receiver.plan({"status": 200, "delay": 30})
    with isolated_stack.api_client(timeout=60) as client:
        secret = client.post("/v1/webhook-secrets").json()["secret"]
        worker = isolated_stack.start_worker(concurrency=1)
        job = job_with_webhook(client, receiver.url)
        deadline = time.monotonic() + 60
        while not receiver.received() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert worker.pid is not None and receiver.received()
        os.killpg(worker.pid, signal.SIGKILL)
        isolated_stack.stop_worker(worker)
        isolated_stack.start_worker(concurrency=1)
        delivery = wait_delivery(client, job["id"], ended)
        assert client.get(f"/v1/jobs/{job['id']}").json()["status"] == "succeeded"
    assert delivery["status"] == "succeeded"
    received = receiver.received()
    assert len(received) == 2
    assert received[0]["headers"]["webhook-id"] == received[1]["headers"]["webhook-id"]
    verify(secret, received[1])


def test_a_due_delivery_survives_a_redis_restart(isolated_stack: Stack, receiver: Receiver) -> None:
    """A job that ended while no webhook worker ran is delivered after Redis restarts."""
    with isolated_stack.api_client(timeout=60) as client:
        secret = client.post("/v1/webhook-secrets").json()["secret"]
        worker = isolated_stack.start_worker(concurrency=1, queues=["inferq.jobs"])
        job = job_with_webhook(client, receiver.url)
        isolated_stack.stop_worker(worker)
        assert receiver.received() == []
        isolated_stack.redis_server.stop()
        isolated_stack.redis_server.start()
        isolated_stack.start_worker(concurrency=1)
        delivery = wait_delivery(client, job["id"], ended)
    assert delivery["status"] == "succeeded"
    [request] = receiver.received()
    assert verify(secret, request)["data"]["id"] == job["id"]
