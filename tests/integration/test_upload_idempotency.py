"""Idempotency-Key on file uploads: the body is hashed as it streams, through the real stack."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx

from inferq.jobs import keys
from tests.helpers import assert_problem, demo_rows, wait_for
from tests.stack import Stack

CSV = {"content-type": "text/csv"}
IN_PROGRESS = "https://inferq.dev/problems/idempotency-key-in-progress"
REUSED = "https://inferq.dev/problems/idempotency-key-reused"


def _csv(count: int, seed: int = 0) -> bytes:
    return demo_rows("iris", count, seed=seed).to_csv(index=False).encode()


def _key(name: str) -> dict[str, str]:
    return {"Idempotency-Key": f"{name}-{time.time_ns()}"}


def _post_csv(api: httpx.Client, body: bytes, key: dict[str, str], **params: str) -> httpx.Response:
    return api.post(
        "/v1/jobs", params={"model": "iris", **params}, content=body, headers={**CSV, **key}
    )


def test_a_repeated_csv_upload_returns_the_first_job_and_other_bytes_are_409(
    api: httpx.Client,
) -> None:
    """Same key and bytes: the first job (200); other bytes or other options: 409 reused."""
    key, body = _key("csv"), _csv(300)
    first = _post_csv(api, body, key)
    assert first.status_code == 202, first.text
    again = _post_csv(api, body, key)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["location"] == first.headers["location"]
    other_bytes = assert_problem(_post_csv(api, _csv(300, seed=1), key), 409, "different")
    assert other_bytes["type"] == REUSED
    other_options = _post_csv(api, body, key, outputs="probabilities")
    assert assert_problem(other_options, 409)["type"] == REUSED
    assert wait_for(api, first.json()["id"])["progress"]["rows_done"] == 300
    listed = api.get("/v1/jobs", params={"limit": 500}).json()["data"]
    assert [job["id"] for job in listed].count(first.json()["id"]) == 1


def test_a_repeated_form_upload_returns_the_first_job(api: httpx.Client) -> None:
    """A form retried with the same key and file gets the first job, whatever its boundary."""
    key, body = _key("form"), _csv(50)
    files = {"file": ("rows.csv", body, "text/csv")}
    first = api.post("/v1/jobs", data={"model": "iris"}, files=files, headers=key)
    assert first.status_code == 202, first.text
    again = api.post("/v1/jobs", data={"model": "iris"}, files=files, headers=key)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]


def test_a_failed_upload_frees_its_key(api: httpx.Client) -> None:
    """An upload refused with 422 (header without the features) leaves its key usable."""
    key = _key("refused")
    refused = _post_csv(api, b"id,colour\n1,red\n", key)
    assert_problem(refused, 422, "sepal_length")
    accepted = _post_csv(api, _csv(20), key)
    assert accepted.status_code == 202, accepted.text


def test_a_retry_during_the_first_upload_is_told_it_is_in_progress(
    stack: Stack, api: httpx.Client
) -> None:
    """While the first upload streams, a retry (file or JSON) with its key gets 409 in progress;
    once the first is taken in, the retry gets its job."""
    key, body = _key("slow"), _csv(400)
    release = threading.Event()

    def slow_body() -> Iterator[bytes]:
        yield body[: len(body) // 2]
        release.wait(60)
        yield body[len(body) // 2 :]

    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(_post_csv, api, slow_body(), key)
        try:
            _wait_for_reservation(stack, key["Idempotency-Key"])
            retry = assert_problem(_post_csv(api, body, key), 409, "in progress")
            assert retry["type"] == IN_PROGRESS
            json_retry = api.post("/v1/jobs", json={"model": "iris", "instances": []}, headers=key)
            assert assert_problem(json_retry, 409)["type"] == IN_PROGRESS
        finally:
            release.set()
        created = first.result(timeout=60)
    assert created.status_code == 202, created.text
    again = _post_csv(api, body, key)
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]


def _wait_for_reservation(stack: Stack, key: str) -> None:
    """Until the API has reserved the key for the upload in flight."""
    redis_key = keys.idempotency("default", key)
    client, deadline = stack.redis(), time.monotonic() + 30
    while time.monotonic() < deadline:
        value = client.get(redis_key)
        if value is not None and value.startswith(b"uploading:"):
            return
        time.sleep(0.02)
    raise AssertionError(f"the upload never reserved {key}")
