"""A chunk scored twice (a worker lost mid-chunk) writes the same part and is counted once."""

from __future__ import annotations

from typing import Any

from api.deps import Principal
from api.submit.file_job import new_file_record
from api.submit.file_options import options_from_fields
from inferq.files import layout
from inferq.files.ingest import StreamIngest
from inferq.jobs.chunks import ChunkLedger
from inferq.usage import keys as usage_keys
from models.routing import route
from tests.helpers import demo_rows
from tests.stack import Stack
from workers.chunk_outputs import write_chunk_outputs
from workers.context import WorkerContext
from workers.file_jobs import run_chunk


def _ingest(stack: Stack, rows: int, on_queue: Any = None) -> tuple[Any, Any, list]:
    """Cut a CSV of iris rows into small chunks as the API does; the queue is a list here."""
    settings = stack.settings.model_copy(update={"file_chunk_bytes": 256})
    ctx = WorkerContext.build(settings)
    queued: list[tuple[int, dict[str, Any]]] = []
    options = options_from_fields([("model", "iris")], "query")
    chosen = route(ctx.registry, "iris")
    record = new_file_record(options, chosen, Principal("default", frozenset()), settings, "csv")
    ledger = ChunkLedger(ctx.store.redis, settings.retention_seconds)

    def enqueue(rec: Any, index: int, spec: dict[str, Any]) -> None:
        queued.append((index, spec))
        if on_queue:
            on_queue(ctx, rec, index, spec)

    ingest = StreamIngest(
        record, chosen.primary.schema, ctx.storage, ctx.store, ledger, 256, enqueue=enqueue
    )
    for pieces in ingest.feed(demo_rows("iris", rows).to_csv(index=False).encode()):
        ingest.put(pieces)
    ingest.finish()
    ingest.close()
    return ctx, record, queued


def test_rescored_chunks_change_nothing_and_the_job_ends_once(isolated_stack: Stack) -> None:
    """Every chunk run twice: identical parts, rows counted once, the job succeeds once."""
    ctx, record, queued = _ingest(isolated_stack, 60)
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
    usage = ctx.store.redis.hgetall(usage_keys.day_key("default", usage_keys.today()))
    assert int(usage[b"iris|rows_scored"]) == 60
    assert int(ctx.store.redis.hget(usage_keys.TENANT_ROWS, "default")) == 60


def test_a_chunk_finished_by_two_workers_counts_its_usage_once(isolated_stack: Stack) -> None:
    """Two workers that both scored a chunk (the second got it after a visibility timeout)
    both finish it: its rows and CPU time are added to the tenant's usage once."""
    ctx, record, queued = _ingest(isolated_stack, 20)
    ledger = ChunkLedger(ctx.store.redis, ctx.settings.retention_seconds)
    entry = ctx.usage.entry("solo", "iris", rows_scored=7, rows_failed=1, cpu_us=1234)
    for _ in range(2):
        ledger.finish_chunk(record.id, 0, 7, 1, entry, ctx.usage.ttl_seconds)
    key = usage_keys.day_key("solo", usage_keys.today())
    assert ctx.store.redis.hgetall(key) == {
        b"iris|rows_scored": b"7",
        b"iris|rows_failed": b"1",
        b"iris|cpu_us": b"1234",
    }
    assert 0 < ctx.store.redis.ttl(key) <= ctx.settings.usage_retention_days * 86400
    assert ctx.store.redis.hget(usage_keys.TENANT_ROWS, "solo") == b"7"


def test_a_job_scored_before_its_upload_ended_still_ends(isolated_stack: Stack) -> None:
    """Chunks scored as soon as queued, before the totals are known: closing ends the job."""
    first_runs: set[int] = set()

    def score_at_once(ctx: Any, rec: Any, index: int, spec: dict[str, Any]) -> None:
        if index not in first_runs:
            first_runs.add(index)
            run_chunk(rec.id, index, spec, ctx)

    ctx, record, queued = _ingest(isolated_stack, 40, on_queue=score_at_once)
    assert ctx.store.get(record.id).status == "running"
    assert len(queued) == record.chunks_total + 1
    index, spec = queued[-1]
    run_chunk(record.id, index, spec, ctx)
    ended = ctx.store.get(record.id)
    assert (ended.status, ended.rows_done) == ("succeeded", 40)
