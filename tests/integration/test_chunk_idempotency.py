"""A chunk scored twice (a worker lost mid-chunk) writes the same part and is counted once."""

from __future__ import annotations

from typing import Any

from api.deps import Principal
from api.file_options import options_from_fields
from api.file_submission import new_file_record
from inferq.files import layout
from inferq.files.ingest import StreamIngest
from inferq.jobs.chunks import ChunkLedger
from tests.helpers import demo_rows
from tests.stack import Stack
from workers.context import WorkerContext
from workers.file_jobs import run_chunk, write_chunk_outputs


def test_rescored_chunks_change_nothing_and_the_job_ends_once(isolated_stack: Stack) -> None:
    """Every chunk run twice: identical parts, rows counted once, the job succeeds once."""
    settings = isolated_stack.settings.model_copy(update={"file_chunk_bytes": 256})
    ctx = WorkerContext.build(settings)
    queued: list[tuple[int, dict[str, Any]]] = []
    options = options_from_fields([("model", "iris")], "query")
    model = ctx.registry.resolve("iris")
    record = new_file_record(options, model, Principal("default", frozenset()), settings, "csv")
    ledger = ChunkLedger(ctx.store.redis, settings.retention_seconds)
    ingest = StreamIngest(
        record,
        model.schema,
        ctx.storage,
        ctx.store,
        ledger,
        settings.file_chunk_bytes,
        enqueue=lambda rec, index, spec: queued.append((index, spec)),
    )
    for chunk in ingest.feed(demo_rows("iris", 60).to_csv(index=False).encode()):
        ingest.put(chunk)
    for chunk in ingest.finish():
        ingest.put(chunk)
    ingest.close()
    assert len(queued) == record.chunks_total and len(queued) > 3

    for index, spec in queued[:-1]:
        # A worker that wrote the part and was lost before the ledger heard of it.
        write_chunk_outputs(ctx.store.claim(record.id), index, spec, ctx)
        first = ctx.storage.read_bytes(layout.part_key(record.id, index))
        run_chunk(record.id, index, spec, ctx)
        run_chunk(record.id, index, spec, ctx)
        assert ctx.storage.read_bytes(layout.part_key(record.id, index)) == first
    assert ctx.store.get(record.id).status == "running"
    for index, spec in queued[-1:] * 2:
        run_chunk(record.id, index, spec, ctx)

    ended = ctx.store.get(record.id)
    assert ended.status == "succeeded"
    assert (ended.rows_total, ended.rows_done, ended.rows_failed) == (60, 60, 0)
    statuses = [e for _, e in ctx.store.events_since(record.id, "0", None) if "status" in e]
    assert [e["status"] for e in statuses] == ["queued", "running", "succeeded"]
