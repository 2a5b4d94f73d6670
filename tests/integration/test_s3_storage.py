"""s3:// storage and s3:// input_uri, against an S3-compatible server (moto) on 127.0.0.1.

The stack's storage URL is an s3:// bucket, so the upload's chunks, the workers' parts and the
model artifacts all go through s3fs; a JSON job names an object of another bucket as input.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import numpy as np
import pandas as pd
import pytest
import s3fs

from tests.helpers import demo_rows, reference_model, wait_for
from tests.s3_server import s3_server
from tests.stack import Stack

STORE, INPUTS = "inferq-store", "inferq-inputs"


@pytest.fixture(scope="module")
def s3_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, s3fs.S3FileSystem]]:
    """A stack whose storage is an S3 bucket, with s3:// input enabled, and a client of S3."""
    base = tmp_path_factory.mktemp("s3")
    with pytest.MonkeyPatch.context() as patch, s3_server(base / "moto.log") as environ:
        for name, value in environ.items():
            patch.setenv(name, value)  # the stack's processes and this one
        fs = s3fs.S3FileSystem(skip_instance_cache=True)
        fs.mkdir(STORE)
        fs.mkdir(INPUTS)
        stack = Stack(
            base,
            storage_url=f"s3://{STORE}/inferq",
            input_uri_schemes="s3",
            file_chunk_bytes="8192",
            parquet_chunk_rows="100",
        )
        with stack.running(workers=2):
            yield stack, fs


@pytest.fixture
def client(s3_stack: tuple[Stack, s3fs.S3FileSystem]) -> Iterator[httpx.Client]:
    """A client of the S3-backed stack's API with its admin key."""
    with s3_stack[0].client(timeout=60) as http:
        yield http


def _rows(count: int, seed: int) -> pd.DataFrame:
    rows = demo_rows("iris", count, seed=seed)
    rows.insert(0, "id", [f"s3-{seed}-{i}" for i in range(count)])
    return rows


def _assert_scored(client: httpx.Client, job_id: str, rows: pd.DataFrame) -> None:
    job = wait_for(client, job_id)
    assert job["status"] == "succeeded", job
    assert job["progress"]["rows_done"] == len(rows)
    response = client.get(f"/v1/jobs/{job_id}/results", params={"format": "csv"})
    assert response.status_code == 200, response.text
    scored = pd.read_csv(io.BytesIO(response.content), dtype={"id": str})
    model, features = reference_model("iris"), rows.drop(columns="id")
    assert scored["id"].tolist() == rows["id"].tolist()
    assert scored["prediction"].tolist() == model.predict(features).tolist()
    for position, label in enumerate(model.classes_):
        expected = model.predict_proba(features)[:, position]
        np.testing.assert_allclose(scored[f"proba_{label}"], expected)


def test_an_upload_is_chunked_scored_and_served_from_s3_storage(
    client: httpx.Client, s3_stack: tuple[Stack, s3fs.S3FileSystem]
) -> None:
    """A CSV upload's chunks and scored parts live in the bucket; results come back in order."""
    _, fs = s3_stack
    rows = _rows(1500, seed=1)
    response = client.post(
        "/v1/jobs",
        params={"model": "iris", "passthrough": "id", "outputs": "prediction,probabilities"},
        content=rows.to_csv(index=False).encode(),
        headers={"content-type": "text/csv"},
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    _assert_scored(client, job_id, rows)
    stored = fs.find(f"{STORE}/inferq/jobs/{job_id}")
    assert sum("/input/" in key for key in stored) > 3, stored
    assert sum(key.endswith(".arrow") for key in stored) > 3, stored
    assert fs.find(f"{STORE}/inferq/models"), "model artifacts are stored in the bucket too"


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_input_uri_reads_an_s3_object(
    client: httpx.Client, s3_stack: tuple[Stack, s3fs.S3FileSystem], suffix: str
) -> None:
    """A JSON job naming s3://bucket/key is read by the workers from S3 and scored in order."""
    _, fs = s3_stack
    rows = _rows(700, seed=2)
    key = f"{INPUTS}/exports/rows.{suffix}"
    with fs.open(key, "wb") as handle:
        if suffix == "csv":
            handle.write(rows.to_csv(index=False).encode())
        else:
            rows.to_parquet(handle, index=False)
    body = {
        "model": "iris",
        "passthrough": ["id"],
        "outputs": ["prediction", "probabilities"],
        "input_uri": f"s3://{key}",
    }
    response = client.post("/v1/jobs", json=body)
    assert response.status_code == 202, response.text
    _assert_scored(client, response.json()["id"], rows)


def test_a_missing_s3_object_is_422(client: httpx.Client) -> None:
    """An input_uri naming no object is refused before any job is made."""
    body = {"model": "iris", "input_uri": f"s3://{INPUTS}/nothing-here.csv"}
    response = client.post("/v1/jobs", json=body)
    assert response.status_code == 422, response.text
    assert "input_uri" in response.text
