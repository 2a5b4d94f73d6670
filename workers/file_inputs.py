"""Cutting a file job's `input_uri` (CSV or JSON Lines) into chunks inside a worker."""

from __future__ import annotations

import logging

from inferq.files.ingest import StreamIngest
from inferq.jobs.chunks import ChunkLedger
from inferq.problems import InputProblem
from workers.context import WorkerContext

log = logging.getLogger(__name__)
READ_BYTES = 1024 * 1024


def split_input(job_id: str, ctx: WorkerContext) -> None:
    """Stream the job's input through the ingest: chunks are queued as they are cut."""
    record = ctx.store.claim(job_id)
    if record is None:
        return
    loaded = ctx.models.get(record.model_name, record.model_version)
    ledger = ChunkLedger(ctx.store.redis, ctx.settings.retention_seconds)
    ingest = StreamIngest(
        record,
        loaded.meta.schema,
        ctx.storage,
        ctx.store,
        ledger,
        ctx.settings.file_chunk_bytes,
        created=True,
    )
    try:
        with ctx.storage.open_url(record.input_location or "") as handle:
            while data := handle.read(READ_BYTES):
                for pieces in ingest.feed(data):
                    ingest.put(pieces)
        ingest.finish()
        ingest.close()
    except InputProblem as exc:
        ctx.store.fail(job_id, "invalid_input", exc.detail)
    except OSError as exc:
        log.warning("cannot read the input of job %s: %s", job_id, exc)
        ctx.store.fail(job_id, "input_unreadable", str(exc))
