"""The Python client, sync and async, against the real stack."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pandas as pd
import pytest

from inferq.client import (
    AsyncClient,
    Client,
    Conflict,
    NotFound,
    Unauthorized,
    Unavailable,
    ValidationFailed,
)
from inferq.redis_server import free_port
from tests.helpers import demo_rows, reference_model
from tests.stack import Stack


@pytest.fixture
def client(stack: Stack) -> Client:
    with Client(stack.api_url, api_key=stack.admin_key) as client:
        yield client


def test_submit_wait_and_results_as_a_dataframe(client: Client) -> None:
    """Rows submitted as a DataFrame come back scored like the model scores them."""
    rows = demo_rows("iris", 30, seed=3)
    job = client.submit(rows, "iris", outputs=["prediction", "probabilities"], metadata={"a": 1})
    assert job.status == "queued" and job.model == "iris" and job.rows_total == 30
    done = client.wait(job.id, timeout=60)
    assert done.status == "succeeded" and done.rows_done == 30 and done.metadata == {"a": 1}
    scored = client.results(job.id)
    assert scored["prediction"].tolist() == reference_model("iris").predict(rows).tolist()
    assert list(scored.columns)[:2] == ["prediction", "proba_setosa"]


def test_score_records_and_download_to_a_file(client: Client, tmp_path: Path) -> None:
    """`score` takes records and returns a frame; `download` writes the CSV to a file."""
    rows = demo_rows("diabetes", 12, seed=4)
    scored = client.score(rows.to_dict("records"), "diabetes", timeout=60)
    assert len(scored) == 12
    job = client.list_jobs(model="diabetes", limit=1).jobs[0]
    path = client.download(job.id, tmp_path / "out.csv", fmt="csv")
    assert (
        pd.read_csv(path)["prediction"].round(6).tolist() == scored["prediction"].round(6).tolist()
    )


def test_list_pages_and_filters(client: Client) -> None:
    """Listing filters by model and pages with the cursor, newest first."""
    ids = [client.submit([[5.0, 3.0, 1.5, 0.2]], "iris@1").id for _ in range(3)]
    for job_id in ids:
        client.wait(job_id, timeout=60)
    first = client.list_jobs(model="iris", limit=2)
    second = client.list_jobs(model="iris", limit=2, cursor=first.next_cursor)
    listed = [j.id for j in first.jobs + second.jobs]
    assert listed[:3] == ids[::-1]
    assert all(j.model == "iris" for j in first.jobs)
    assert [j.id for j in client.iter_jobs(model="iris")][:3] == ids[::-1]


def test_errors_are_typed_and_carry_problem_details(client: Client) -> None:
    """Unknown job 404, bad rows 422 with field errors, results of an unknown job 404."""
    with pytest.raises(NotFound) as missing:
        client.get("job_01JAAAAAAAAAAAAAAAAAAAAAAA")
    assert missing.value.status == 404 and missing.value.title == "Job not found"
    with pytest.raises(ValidationFailed) as invalid:
        client.submit([{"sepal_length": 1.0}], "iris")
    assert invalid.value.status == 422 and invalid.value.errors
    assert any("sepal_width" in str(e) for e in invalid.value.errors)
    with pytest.raises(NotFound):
        client.submit([[1, 2, 3, 4]], "no_such_model")


def test_an_unreachable_api_is_unavailable() -> None:
    """A closed port raises Unavailable with no status, not an httpx error."""
    with (
        Client(f"http://127.0.0.1:{free_port()}", timeout=2) as client,
        pytest.raises(Unavailable) as exc,
    ):
        client.list_jobs()
    assert exc.value.status is None


def test_the_key_is_sent_and_a_refused_one_is_unauthorized(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """INFERQ_API_KEY is sent when no key is given; no key or a wrong one raises Unauthorized."""
    monkeypatch.setenv("INFERQ_API_KEY", stack.admin_key)
    with Client(stack.api_url) as client:
        assert isinstance(client.list_jobs(limit=1).jobs, list)
    for key in ("", "iqk_wrong"):
        monkeypatch.setenv("INFERQ_API_KEY", key)
        with Client(stack.api_url) as client, pytest.raises(Unauthorized) as refused:
            client.list_jobs()
        assert refused.value.status == 401
        with Client(stack.api_url) as client, pytest.raises(Unauthorized):
            list(client.events("job_01JAAAAAAAAAAAAAAAAAAAAAAA"))


def test_events_follow_a_job_to_its_end(client: Client) -> None:
    """The SSE stream replays the job's history and ends with its final status."""
    job = client.submit(demo_rows("iris", 5), "iris")
    statuses = [e.data["status"] for e in client.events(job.id) if e.kind == "status"]
    assert statuses[0] == "queued" and statuses[-1] == "succeeded"


def test_cancel_of_a_queued_job_and_delete(isolated_stack: Stack) -> None:
    """With no worker, a job cancels at once; the worker skips it; delete removes it.

    A job whose input vanished before a worker took it ends failed with the reason.
    """
    with Client(isolated_stack.start_api(), api_key=isolated_stack.admin_key) as client:
        job = client.submit(demo_rows("iris", 5), "iris")
        cancelled = client.cancel(job.id)
        assert cancelled.status == "cancelled" and cancelled.finished_at
        doomed = client.submit(demo_rows("iris", 5), "iris")
        isolated_stack.redis().delete(f"inferq:job:{doomed.id}:input")
        isolated_stack.start_worker(concurrency=1)
        failed = client.wait(doomed.id, timeout=60)
        assert failed.status == "failed" and failed.error["code"] == "input_missing"
        marker = client.submit(demo_rows("iris", 5), "iris")
        assert client.wait(marker.id, timeout=60).status == "succeeded"
        assert client.get(job.id).status == "cancelled"
        with pytest.raises(Conflict):
            client.results(job.id)
        client.delete(job.id)
        with pytest.raises(NotFound):
            client.get(job.id)


def test_async_client_does_the_same(stack: Stack) -> None:
    """AsyncClient submits, waits, lists, follows events and raises typed errors."""

    async def scenario() -> None:
        async with AsyncClient(stack.api_url, api_key=stack.admin_key) as client:
            rows = demo_rows("iris", 20, seed=5)
            scored = await client.score(rows, "iris", timeout=60)
            assert scored["prediction"].tolist() == reference_model("iris").predict(rows).tolist()
            job = (await client.list_jobs(limit=1)).jobs[0]
            kinds = [e.kind async for e in client.events(job.id)]
            assert kinds[-1] == "status"
            with pytest.raises(NotFound):
                await client.get("job_01JAAAAAAAAAAAAAAAAAAAAAAA")

    asyncio.run(scenario())


def test_file_upload_streams_and_scores(client: Client, tmp_path: Path) -> None:
    """A CSV goes up streamed with progress callbacks and scores like the model."""
    rows = demo_rows("iris", 200, seed=6)
    rows.insert(0, "id", range(200))
    path = tmp_path / "in.csv"
    rows.to_csv(path, index=False)
    seen: list[tuple[int, int | None]] = []
    job = client.submit_file(
        path, "iris", passthrough=["id"], progress=lambda d, t: seen.append((d, t))
    )
    assert seen[-1] == (path.stat().st_size, path.stat().st_size)
    assert client.wait(job.id, timeout=120).status == "succeeded"
    scored = client.results(job.id)
    # Passthrough columns are copied unchanged: from a CSV they may come back as text.
    assert scored["id"].astype(str).tolist() == [str(i) for i in range(200)]
    assert (
        scored["prediction"].tolist()
        == reference_model("iris").predict(rows.drop(columns="id")).tolist()
    )
