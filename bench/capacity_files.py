"""The capacity bench's file jobs: what a CSV file job and each of its chunks cost."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.bulk_csv import make_csv
from bench.capacity_report import Operation, print_operations
from bench.counted_service import CountedService
from inferq.jobs import keys


def file_job(counted: CountedService, path: Path, rows: int) -> tuple[list[Operation], int]:
    """Upload (worker stopped), score and download one CSV file job; and its chunk count."""
    ids: list[str] = []

    def upload() -> None:
        with path.open("rb") as handle:
            answer = counted.http.post(
                "/v1/jobs",
                params={"model": "bench_hgb", "passthrough": "id", "outputs": "probabilities"},
                content=iter(lambda: handle.read(1024 * 1024), b""),
                headers={"content-type": "text/csv"},
            )
        answer.raise_for_status()
        ids.append(answer.json()["id"])

    def download() -> None:
        with counted.http.stream(
            "GET", f"/v1/jobs/{ids[0]}/results", params={"format": "csv"}
        ) as r:
            r.raise_for_status()
            for _ in r.iter_bytes(1024 * 1024):
                pass

    with counted.worker_stopped():
        taken = counted.operation("upload", 1, upload)
    scored = counted.operation("score", 1, counted.wait_idle)
    fetched = counted.operation("download", 1, download)
    job = counted.http.get(f"/v1/jobs/{ids[0]}").json()
    assert job["status"] == "succeeded" and job["progress"]["rows_done"] == rows, job
    chunks = int(counted.counter.ask("SCARD", keys.job_chunks_done(ids[0])))
    return [taken, scored, fetched], chunks


def files(counted: CountedService, base: Path, args: argparse.Namespace) -> None:
    """A small and a big CSV file: per chunk from the difference, and per file job."""
    measured = []
    for rows in (args.small_file_rows, args.small_file_rows, args.file_rows):
        path = base / f"input-{rows}.csv"
        if not path.exists():
            make_csv(path, rows)
        operations, chunks = file_job(counted, path, rows)
        measured.append((operations, chunks, rows))
    # The first file is a warm-up: its model's monitoring state is made once per version.
    (small, small_chunks, _), (big, big_chunks, big_rows) = measured[1:]
    for operations, chunks, rows in measured[1:]:
        print_operations(
            f"CSV file job, {rows:,} rows in {chunks} chunks (per file job)", operations
        )
    per_chunk = [
        big_op.minus(small_op, big_chunks - small_chunks)
        for small_op, big_op in zip(small, big, strict=True)
    ]
    print_operations("CSV file: each further chunk (big minus small file, per chunk)", per_chunk)
    fixed = [
        small_op.minus(chunk.times(small_chunks), 1)
        for small_op, chunk in zip(small, per_chunk, strict=True)
    ]
    print_operations("CSV file: the rest of a file job (small file minus its chunks)", fixed)
    upload, score, _ = big
    print(
        f"\nbig file, CPU per row: API {upload.cpu.get('api', 0) / big_rows * 1e6:.2f} us "
        f"(upload), worker {score.cpu.get('worker', 0) / big_rows * 1e6:.2f} us (score); "
        f"{big_rows / big_chunks:,.0f} rows per chunk"
    )
