"""Encryption at rest on a real stack: nothing inferq stores is in clear, jobs and downloads
are unchanged, keys rotate, and a missing or wrong key fails loudly."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest

from inferq.keyring import new_key_text
from inferq.sealed import MAGIC
from tests.helpers import assert_problem, demo_rows, reference_model, submit, wait_for
from tests.model_fixtures import categorical_pipeline, plan_frame, skops_bytes
from tests.stack import ROOT, Stack

MODEL = skops_bytes(categorical_pipeline())
ROWS = demo_rows("iris", 400, seed=3)
ROWS.insert(0, "id", [f"enc-row-{i}" for i in range(len(ROWS))])


@pytest.fixture(scope="module")
def sealed_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack whose storage is encrypted with key `k1`; small chunks, so many objects."""
    stack = Stack(
        tmp_path_factory.mktemp("sealed"),
        encryption_keys=new_key_text("k1"),
        file_chunk_bytes="4096",
        parquet_chunk_rows="100",
    )
    with stack.running(workers=1):
        yield stack


@pytest.fixture(scope="module")
def jobs(sealed_stack: Stack) -> dict[str, str]:
    """A model upload, a CSV upload with a bad row, a Parquet upload and a JSON job, all
    finished; their ids by kind."""
    with sealed_stack.client(timeout=120) as client:
        files = {"file": ("model.skops", MODEL, "application/octet-stream")}
        assert client.post("/v1/models/plans/versions", files=files).status_code == 201
        frame, _ = plan_frame()
        made = {
            "json": submit(
                client, {"model": "plans", "dataframe_records": frame.to_dict("records")}
            )["id"]
        }
        csv = ROWS.to_csv(index=False) + "enc-row-bad,abc,1,2,3\n"
        parquet = io.BytesIO()
        ROWS.to_parquet(parquet, index=False)
        params = {"model": "iris", "passthrough": "id", "max_error_rate": "0.1"}
        for kind, body, media in [
            ("csv", csv.encode(), "text/csv"),
            ("parquet", parquet.getvalue(), "application/vnd.apache.parquet"),
        ]:
            answer = client.post(
                "/v1/jobs", params=params, content=body, headers={"content-type": media}
            )
            assert answer.status_code == 202, answer.text
            made[kind] = answer.json()["id"]
        for job_id in made.values():
            assert wait_for(client, job_id)["status"] == "succeeded"
    return made


def assert_scored(client: httpx.Client, job_id: str) -> None:
    """The job's CSV results are the reference model's predictions of `ROWS`, in order."""
    answer = client.get(f"/v1/jobs/{job_id}/results", params={"format": "csv"})
    assert answer.status_code == 200, answer.text
    scored = pd.read_csv(io.BytesIO(answer.content), dtype={"id": str})
    assert scored["id"].tolist() == ROWS["id"].tolist()
    expected = reference_model("iris").predict(ROWS.drop(columns="id")).tolist()
    assert scored["prediction"].tolist() == expected


def stored_files(stack: Stack) -> list[Path]:
    """Every file in the stack's local storage."""
    return [p for p in (stack.base / "var" / "data").rglob("*") if p.is_file()]


def restart(stack: Stack, keys: str) -> None:
    """Stop the API and the workers and start them again with INFERQ_ENCRYPTION_KEYS=`keys`."""
    if stack.api is not None:
        stack.api.stop()
    for worker in list(stack.workers):
        stack.stop_worker(worker)
    stack.extra["encryption_keys"] = keys
    stack.start_worker(concurrency=1)
    stack.start_api()


def test_storage_holds_no_plaintext_and_jobs_are_unchanged(
    sealed_stack: Stack, jobs: dict[str, str]
) -> None:
    """Every stored object (artifact, input chunks, Parquet input, parts, errors) is sealed and
    holds no CSV or skops bytes; results and errors download as without encryption."""
    with sealed_stack.client(timeout=60) as client:
        for kind in ("csv", "parquet"):
            assert_scored(client, jobs[kind])
        errors = client.get(f"/v1/jobs/{jobs['csv']}/errors").json()["data"]
        assert len(errors) == 1, errors
        assert client.get(f"/v1/jobs/{jobs['json']}/results").status_code == 200
    files = stored_files(sealed_stack)
    names = "\n".join(str(p) for p in files)
    for needed in ("model.skops", "input", ".arrow", "errors"):
        assert needed in names, f"no stored {needed} file in {names}"
    clear = [b"enc-row-", b"sepal length", b"PK\x03\x04", MODEL[100:140], b"PAR1", b"ARROW1"]
    for path in files:
        data = path.read_bytes()
        assert data.startswith(MAGIC), path
        assert not [c for c in clear if c in data], path


def test_rotation_keeps_old_objects_and_reencrypt_retires_the_old_key(
    sealed_stack: Stack, jobs: dict[str, str]
) -> None:
    """With a new first key the old objects still read; `inferq storage reencrypt` moves them
    with progress; after it the old key can go and everything still reads."""
    old = sealed_stack.extra["encryption_keys"].split(",")[0]
    new = new_key_text("k2")
    restart(sealed_stack, f"{new},{old}")
    with sealed_stack.client(timeout=60) as client:
        assert_scored(client, jobs["csv"])
    moved = subprocess.run(
        [sys.executable, "-m", "inferq.cli", "storage", "reencrypt"],
        env={**sealed_stack.env, "INFERQ_ENCRYPTION_KEYS": f"{new},{old}"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert moved.returncode == 0, moved.stderr
    assert "0 failed" in moved.stderr and "under key 'k2'" in moved.stderr
    restart(sealed_stack, new)
    with sealed_stack.client(timeout=60) as client:
        assert client.get("/readyz").json()["ready"] is True
        assert_scored(client, jobs["parquet"])
        frame, _ = plan_frame()
        job = submit(client, {"model": "plans", "dataframe_records": frame.to_dict("records")})
        assert wait_for(client, job["id"])["status"] == "succeeded"


def test_a_wrong_key_fails_loudly(sealed_stack: Stack, jobs: dict[str, str]) -> None:
    """Another key under the current id: /readyz is not ready and says why, a job of the
    stored model fails `decryption_failed`, a read of stored errors is a 500 problem, and a
    streamed download breaks off instead of sending anything undecrypted."""
    current = sealed_stack.extra["encryption_keys"].split(",")[0]
    kid = current.split(":")[0]
    restart(sealed_stack, new_key_text(kid))
    try:
        with sealed_stack.client(timeout=60) as client:
            ready = client.get("/readyz")
            assert_problem(ready, 503, "does not unwrap", kid)
            assert ready.json()["encryption"] is False
            frame, _ = plan_frame()
            job = submit(client, {"model": "plans", "dataframe_records": frame.to_dict("records")})
            failed = wait_for(client, job["id"])
            assert failed["status"] == "failed", failed
            assert failed["error"]["code"] == "decryption_failed", failed
            errors = client.get(f"/v1/jobs/{jobs['csv']}/errors", params={"format": "parquet"})
            assert_problem(errors, 500, "cannot be decrypted", "does not unwrap")
            with pytest.raises(httpx.RemoteProtocolError):  # cut off, never garbage
                client.get(f"/v1/jobs/{jobs['csv']}/results", params={"format": "csv"})
    finally:
        restart(sealed_stack, current)
