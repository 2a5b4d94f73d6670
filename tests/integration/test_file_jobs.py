"""File jobs (CSV, Parquet, JSON Lines) through the real API, queue, workers and storage."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.files import messy_csv
from tests.helpers import assert_problem, demo_rows, reference_model, wait_for
from tests.stack import Stack

CSV = {"content-type": "text/csv"}


@pytest.fixture(scope="module")
def files_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack cutting files into small chunks, with one worker of two processes."""
    base = tmp_path_factory.mktemp("files")
    stack = Stack(
        base,
        file_chunk_bytes="4096",
        parquet_chunk_rows="100",
        max_file_bytes=str(2 * 1024 * 1024),
        input_roots=str(base / "inputs"),
    )
    with stack.running(workers=2):
        yield stack


@pytest.fixture
def client(files_stack: Stack) -> Iterator[httpx.Client]:
    """An HTTP client of the file stack's API, sending its admin key."""
    with files_stack.client(timeout=60) as http:
        yield http


def _rows(name: str, count: int, seed: int = 0) -> pd.DataFrame:
    rows = demo_rows(name, count, seed=seed)
    rows.insert(0, "id", [f"c,{i}" for i in range(count)])
    return rows


def _csv_results(client: httpx.Client, job_id: str) -> pd.DataFrame:
    response = client.get(f"/v1/jobs/{job_id}/results", params={"format": "csv"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return pd.read_csv(io.BytesIO(response.content), dtype={"id": str})


def _assert_scored_like_sklearn(scored: pd.DataFrame, rows: pd.DataFrame, name: str) -> None:
    model = reference_model(name)
    features = rows.drop(columns="id")
    assert scored["id"].tolist() == rows["id"].tolist()
    assert scored["prediction"].tolist() == model.predict(features).tolist()
    if "proba_" + str(model.classes_[0]) in scored:
        expected = model.predict_proba(features)
        for position, label in enumerate(model.classes_):
            np.testing.assert_allclose(scored[f"proba_{label}"], expected[:, position])


def test_messy_csv_scores_good_rows_in_order_and_lists_bad_lines(client: httpx.Client) -> None:
    """BOM, CRLF, shuffled and extra columns, quoted newlines: good rows match sklearn in order,
    and each bad line is reported by its physical line number."""
    rows = _rows("breast_cancer", 2000, seed=4)
    messy = messy_csv(rows)
    response = client.post(
        "/v1/jobs",
        params={
            "model": "breast_cancer",
            "passthrough": "id",
            "outputs": "prediction,probabilities",
            "max_error_rate": "0.05",
        },
        content=messy.data,
        headers=CSV,
    )
    assert response.status_code == 202, response.text
    job = wait_for(client, response.json()["id"])
    good, bad = len(messy.good), len(messy.bad_lines)
    assert job["status"] == "succeeded", job
    assert job["progress"] == {"rows_total": good + bad, "rows_done": good, "rows_failed": bad}
    _assert_scored_like_sklearn(_csv_results(client, job["id"]), messy.good, "breast_cancer")
    errors = client.get(f"/v1/jobs/{job['id']}/errors").json()["data"]
    assert [error["line"] for error in errors] == messy.bad_lines
    assert {error["msg"] for error in errors} == {
        "expected 32 fields, got 30",
        "expected a number, got 'abc'",
    }


def test_big_file_is_cut_into_many_chunks_scored_by_both_processes(
    client: httpx.Client, files_stack: Stack
) -> None:
    """A file of many chunks is scored by both worker processes and assembled in input order."""
    rows = _rows("iris", 3000, seed=5)
    response = client.post(
        "/v1/jobs",
        params={"model": "iris", "passthrough": "id"},
        content=rows.to_csv(index=False).encode(),
        headers=CSV,
    )
    job = wait_for(client, response.json()["id"])
    assert job["status"] == "succeeded"
    _assert_scored_like_sklearn(_csv_results(client, job["id"]), rows, "iris")
    record = files_stack.redis().hgetall(f"inferq:job:{job['id']}")
    assert int(record[b"chunks_total"]) > 10
    log = next(files_stack.base.glob("worker-*.log")).read_text()
    scorers = {
        entry["process"]
        for line in log.splitlines()
        if line.startswith("{")
        and re.match(
            r"Task inferq\.score_chunk\[.*\] succeeded", (entry := json.loads(line))["message"]
        )
    }
    assert len(scorers) == 2


@pytest.mark.parametrize("fmt", ["json", "jsonl", "parquet"])
def test_results_in_every_format_match(client: httpx.Client, fmt: str) -> None:
    """JSON, JSON Lines and Parquet results hold the same rows as CSV, in order."""
    rows = _rows("iris", 600, seed=6)
    response = client.post(
        "/v1/jobs",
        params={"model": "iris", "passthrough": "id"},
        content=rows.to_csv(index=False).encode(),
        headers=CSV,
    )
    job = wait_for(client, response.json()["id"])
    body = client.get(f"/v1/jobs/{job['id']}/results", params={"format": fmt}).content
    if fmt == "json":
        parsed = orjson.loads(body)
        table = pd.DataFrame(parsed["data"], columns=parsed["columns"])
    elif fmt == "jsonl":
        table = pd.read_json(io.BytesIO(body), lines=True, dtype=False)
    else:
        table = pq.read_table(io.BytesIO(body)).to_pandas()
    _assert_scored_like_sklearn(table, rows, "iris")


def test_parquet_upload_scores_like_sklearn(client: httpx.Client) -> None:
    """A Parquet body of several row groups is scored in order; a null value is a row error."""
    rows = _rows("breast_cancer", 450, seed=7)
    spoiled = rows.copy()
    spoiled.loc[10, "mean_radius"] = np.nan
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(spoiled, preserve_index=False), sink, row_group_size=64)
    response = client.post(
        "/v1/jobs",
        params={"model": "breast_cancer", "passthrough": "id"},
        content=sink.getvalue(),
        headers={"content-type": "application/vnd.apache.parquet"},
    )
    assert response.status_code == 202, response.text
    job = wait_for(client, response.json()["id"])
    assert job["status"] == "succeeded" and job["progress"]["rows_failed"] == 1
    expected = rows.drop(index=10).reset_index(drop=True)
    _assert_scored_like_sklearn(_csv_results(client, job["id"]), expected, "breast_cancer")
    errors = client.get(f"/v1/jobs/{job['id']}/errors").json()["data"]
    assert errors == [
        {
            "row": 10,
            "column": "mean_radius",
            "msg": "missing value, and the model does not accept missing values",
        }
    ]


def test_jsonl_upload_scores_like_sklearn_and_reports_bad_lines(client: httpx.Client) -> None:
    """JSON Lines rows are scored in order; a line that is not JSON is reported by line."""
    rows = _rows("iris", 300, seed=8)
    lines = [row.to_json() for _, row in rows.iterrows()]
    lines.insert(5, "{not json")
    response = client.post(
        "/v1/jobs",
        params={"model": "iris", "passthrough": "id", "max_error_rate": "0.1"},
        content=("\n".join(lines) + "\n").encode(),
        headers={"content-type": "application/x-ndjson"},
    )
    job = wait_for(client, response.json()["id"])
    assert job["status"] == "succeeded"
    _assert_scored_like_sklearn(_csv_results(client, job["id"]), rows, "iris")
    errors = client.get(f"/v1/jobs/{job['id']}/errors", params={"format": "csv"}).text
    assert errors.splitlines()[0] == "line,column,msg" and errors.splitlines()[1].startswith("6,,")


def test_multipart_form_upload(client: httpx.Client) -> None:
    """A browser form with a `file` part and option fields is scored like a raw upload."""
    rows = _rows("iris", 200, seed=9)
    response = client.post(
        "/v1/jobs",
        data={"model": "iris", "passthrough": "id"},
        files={"file": ("rows.csv", rows.to_csv(index=False).encode(), "text/csv")},
    )
    assert response.status_code == 202, response.text
    assert wait_for(client, response.json()["id"])["status"] == "succeeded"
    _assert_scored_like_sklearn(_csv_results(client, response.json()["id"]), rows, "iris")


def test_input_uri_inside_allowed_root(client: httpx.Client, files_stack: Stack) -> None:
    """A local file under an allowed root is read by the workers; one outside it is refused."""
    inputs = files_stack.base / "inputs"
    inputs.mkdir(exist_ok=True)
    rows = _rows("iris", 500, seed=10)
    rows.to_csv(inputs / "rows.csv", index=False)
    rows.to_parquet(inputs / "rows.parquet", index=False)
    for name in ("rows.csv", "rows.parquet"):
        body = {"model": "iris", "passthrough": ["id"], "input_uri": str(inputs / name)}
        response = client.post("/v1/jobs", json=body)
        assert response.status_code == 202, response.text
        assert wait_for(client, response.json()["id"])["status"] == "succeeded"
        _assert_scored_like_sklearn(_csv_results(client, response.json()["id"]), rows, "iris")
    outside = {"model": "iris", "input_uri": str(Path(__file__))}
    assert_problem(client.post("/v1/jobs", json=outside), 422, "allowed input root")


def test_missing_feature_column_is_422_before_any_job(client: httpx.Client) -> None:
    """A header without a feature column is refused naming the column; no job is created."""
    before = client.get("/v1/jobs", params={"limit": 500}).json()["data"]
    rows = _rows("iris", 50).drop(columns="petal_width")
    response = client.post(
        "/v1/jobs", params={"model": "iris"}, content=rows.to_csv(index=False), headers=CSV
    )
    body = assert_problem(response, 422, "petal_width", "missing feature column")
    assert body["errors"][0]["loc"] == ["header", "petal_width"]
    assert client.get("/v1/jobs", params={"limit": 500}).json()["data"] == before


def test_upload_over_the_file_limit_is_413(client: httpx.Client) -> None:
    """Past the file size limit the upload is refused with 413, declared or streamed."""
    big = _rows("iris", 1000).to_csv(index=False).encode() * 100
    response = client.post("/v1/jobs", params={"model": "iris"}, content=big, headers=CSV)
    assert_problem(response, 413, "limit")

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    streamed = client.post("/v1/jobs", params={"model": "iris"}, content=pieces(), headers=CSV)
    assert_problem(streamed, 413, "limit")


def test_too_many_bad_rows_fails_the_job_but_serves_scored_rows(client: httpx.Client) -> None:
    """Past max_error_rate the job fails with its reason; the rows that scored stay served."""
    rows = _rows("breast_cancer", 300, seed=11)
    messy = messy_csv(rows, bad_every=10)
    response = client.post(
        "/v1/jobs",
        params={"model": "breast_cancer", "passthrough": "id", "max_error_rate": "0.05"},
        content=messy.data,
        headers=CSV,
    )
    job = wait_for(client, response.json()["id"])
    assert job["status"] == "failed" and job["error"]["code"] == "too_many_bad_rows"
    _assert_scored_like_sklearn(_csv_results(client, job["id"]), messy.good, "breast_cancer")


def test_progress_events_count_rows_until_the_end(client: httpx.Client) -> None:
    """SSE shows progress with rows_total, ending with every row counted and succeeded."""
    rows = _rows("iris", 1000, seed=12)
    response = client.post(
        "/v1/jobs", params={"model": "iris"}, content=rows.to_csv(index=False), headers=CSV
    )
    job_id = response.json()["id"]
    with client.stream("GET", f"/v1/jobs/{job_id}/events") as events:
        data = [line for line in events.iter_lines() if line.startswith("data:")]
    progress = [line for line in data if "rows_done" in line]
    assert '"rows_done":"1000"' in progress[-1] and '"rows_total":"1000"' in progress[-1]
    assert data[-1] == 'data: {"status":"succeeded"}'


def test_results_of_an_unfinished_file_job_are_409(isolated_stack: Stack) -> None:
    """With no worker to score it, a file job stays queued and its results answer 409."""
    isolated_stack.start_api()
    with isolated_stack.client(timeout=30) as http:
        rows = _rows("iris", 20)
        response = http.post(
            "/v1/jobs", params={"model": "iris"}, content=rows.to_csv(index=False), headers=CSV
        )
        assert response.status_code == 202
        job = http.get(f"/v1/jobs/{response.json()['id']}").json()
        assert job["status"] == "queued" and job["progress"]["rows_total"] == 20
        assert_problem(http.get(f"/v1/jobs/{job['id']}/results"), 409, "queued")
