"""The clients try again through passing trouble without making a job twice."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from urllib.parse import urlsplit

from inferq.client import AsyncClient, Client
from tests.helpers import demo_rows, reference_model
from tests.lossy_proxy import LossyProxy
from tests.stack import Stack


def _count_jobs_tagged(client: Client, tag: str) -> int:
    return sum(job.metadata.get("tag") == tag for job in client.iter_jobs())


def test_a_submission_whose_answer_was_lost_is_sent_again_and_makes_one_job(
    stack: Stack,
) -> None:
    """The API took the job but its answer was lost on the way: the client sends the
    submission again with the same Idempotency-Key and gets that job; no second one exists."""
    proxy = LossyProxy(urlsplit(stack.api_url).port or 80, losses=1)
    tag = uuid.uuid4().hex
    rows = demo_rows("iris", 5, seed=21)
    try:
        with Client(proxy.url, api_key=stack.admin_key) as client:
            job = client.submit(rows, "iris", metadata={"tag": tag})
            done = client.wait(job.id, timeout=60)
            assert proxy.lost == 1 and done.status == "succeeded"
            assert client.results(job.id)["prediction"].tolist() == (
                reference_model("iris").predict(rows).tolist()
            )
            assert _count_jobs_tagged(client, tag) == 1
    finally:
        proxy.close()


def test_an_upload_whose_answer_was_lost_is_sent_again_and_makes_one_job(
    stack: Stack, tmp_path
) -> None:
    """The same for a streamed file: the file is read and sent again, the API hashes it, sees
    the key's earlier upload with the same bytes and answers that job."""
    proxy = LossyProxy(urlsplit(stack.api_url).port or 80, losses=1)
    tag = uuid.uuid4().hex
    path = tmp_path / "rows.csv"
    demo_rows("iris", 200, seed=22).to_csv(path, index=False)

    async def upload() -> tuple[str, str]:
        async with AsyncClient(proxy.url, api_key=stack.admin_key) as client:
            job = await client.submit_file(path, "iris", metadata={"tag": tag})
            return job.id, (await client.wait(job.id, timeout=60)).status

    try:
        job_id, status = asyncio.run(upload())
        assert proxy.lost == 1 and status == "succeeded"
        with Client(stack.api_url, api_key=stack.admin_key) as client:
            assert _count_jobs_tagged(client, tag) == 1
    finally:
        proxy.close()


def test_a_submission_during_a_redis_restart_gets_through(isolated_stack: Stack) -> None:
    """Redis goes away for a second: the API answers 503 with Retry-After, the client waits
    and tries again, and the job is taken in and scored."""
    isolated_stack.start_worker(concurrency=1)
    isolated_stack.start_api()
    server = isolated_stack.redis_server
    server.stop()
    threading.Timer(1.0, server.start).start()
    began = time.monotonic()
    with Client(isolated_stack.api_url, api_key=isolated_stack.admin_key, timeout=10) as client:
        job = client.submit(demo_rows("iris", 3, seed=23), "iris")
        assert client.wait(job.id, timeout=60).status == "succeeded"
    assert time.monotonic() - began >= 0.9  # it did wait for Redis
