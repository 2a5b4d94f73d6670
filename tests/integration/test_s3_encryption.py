"""Encrypted s3:// storage, against an S3-compatible server (moto) on 127.0.0.1: the bucket
holds only sealed objects, jobs score as usual, and `reencrypt` rewrites objects in S3."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pandas as pd
import pytest
import s3fs

from inferq.keyring import Keyring, new_key_text
from inferq.reencrypt import reencrypt
from inferq.sealed import MAGIC
from inferq.storage import Storage
from tests.helpers import demo_rows, reference_model, wait_for
from tests.s3_server import s3_server
from tests.stack import Stack

BUCKET = "inferq-sealed"
K1 = new_key_text("k1")
ROWS = demo_rows("iris", 300, seed=5)
ROWS.insert(0, "id", [f"s3-sealed-{i}" for i in range(len(ROWS))])


@pytest.fixture(scope="module")
def s3_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, s3fs.S3FileSystem]]:
    """A stack storing in an S3 bucket with encryption, and a client of S3."""
    base = tmp_path_factory.mktemp("s3-sealed")
    with pytest.MonkeyPatch.context() as patch, s3_server(base / "moto.log") as environ:
        for name, value in environ.items():
            patch.setenv(name, value)  # the stack's processes and this one
        fs = s3fs.S3FileSystem(skip_instance_cache=True)
        fs.mkdir(BUCKET)
        stack = Stack(
            base,
            storage_url=f"s3://{BUCKET}/inferq",
            encryption_keys=K1,
            file_chunk_bytes="4096",
            parquet_chunk_rows="100",
        )
        try:
            with stack.running(workers=1):
                yield stack, fs
        finally:
            # This process's s3fs instances point at this server: later modules start their own.
            s3fs.S3FileSystem.clear_instance_cache()


def score_upload(stack: Stack, body: bytes, media: str) -> None:
    """Upload `body` as a file job, wait, and check its results against the reference model."""
    with stack.client(timeout=120) as client:
        params = {"model": "iris", "passthrough": "id"}
        answer = client.post(
            "/v1/jobs", params=params, content=body, headers={"content-type": media}
        )
        assert answer.status_code == 202, answer.text
        job = wait_for(client, answer.json()["id"])
        assert job["status"] == "succeeded", job
        results = client.get(f"/v1/jobs/{job['id']}/results", params={"format": "csv"})
    scored = pd.read_csv(io.BytesIO(results.content), dtype={"id": str})
    assert scored["id"].tolist() == ROWS["id"].tolist()
    expected = reference_model("iris").predict(ROWS.drop(columns="id")).tolist()
    assert scored["prediction"].tolist() == expected


def test_s3_storage_is_sealed_and_reencrypted_in_place(
    s3_stack: tuple[Stack, s3fs.S3FileSystem],
) -> None:
    """CSV and Parquet uploads score from sealed S3 objects; no object holds plaintext; after
    `reencrypt` to a new key the objects read with the new key alone."""
    stack, fs = s3_stack
    score_upload(stack, ROWS.to_csv(index=False).encode(), "text/csv")
    parquet = io.BytesIO()
    ROWS.to_parquet(parquet, index=False)
    score_upload(stack, parquet.getvalue(), "application/vnd.apache.parquet")
    objects = fs.find(BUCKET)
    assert sum("/models/" in key for key in objects) >= 3 and len(objects) > 10, objects
    for key in objects:
        data = fs.cat_file(key)
        assert data.startswith(MAGIC), key
        assert b"s3-sealed-" not in data and b"PAR1" not in data and b"PK\x03\x04" not in data
    k2 = new_key_text("k2")
    url = f"s3://{BUCKET}/inferq"
    progress = reencrypt(Storage(url, Keyring.parse(f"{k2},{K1}")), lambda _: None)
    assert progress.failed == [] and progress.rewrapped == progress.total - progress.current
    moved = Storage(url, Keyring.parse(k2))
    assert moved.key_problem() is None
    artifact = next(k for k in objects if k.endswith("model.skops"))
    assert moved.read_bytes(artifact[len(BUCKET) + len("/inferq/") :])[:4] == b"PK\x03\x04"
