"""Taking in a CSV or JSON Lines stream: check its columns, cut it, store and queue each chunk.

Scoring starts while the stream is still arriving: each chunk is queued as soon as it is stored.
The job record is created with the first chunk, after the columns passed the model's checks, so a
refused upload leaves no job behind. When the stream ends the ledger learns how many chunks there
are; the worker that then completes the set ends the job.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import orjson

from inferq.files import layout
from inferq.files.columns import BOM, check_columns, parse_header
from inferq.files.splitter import Chunk, RecordSplitter, split_first_record
from inferq.jobs.chunks import ChunkLedger
from inferq.jobs.record import JobRecord
from inferq.jobs.store import JobStore
from inferq.problems import InputProblem
from inferq.queue import enqueue_chunk
from inferq.schema import ModelSchema
from inferq.storage import Storage

MAX_HEADER_BYTES = 1024 * 1024
Enqueue = Callable[[JobRecord, int, dict[str, Any]], None]


class StreamIngest:
    """Feed it the bytes of a CSV or JSON Lines file in pieces; it stores and queues chunks."""

    def __init__(
        self,
        record: JobRecord,
        schema: ModelSchema,
        storage: Storage,
        store: JobStore,
        ledger: ChunkLedger,
        chunk_bytes: int,
        enqueue: Enqueue = enqueue_chunk,
        *,
        created: bool = False,
    ) -> None:
        self.record = record
        self.schema = schema
        self.storage = storage
        self.store = store
        self.ledger = ledger
        self.chunk_bytes = chunk_bytes
        self.enqueue = enqueue
        self.created = created
        self._head = bytearray()
        self._splitter: RecordSplitter | None = None
        self._last: tuple[int, Chunk] | None = None
        self._stored = 0
        self._records = 0

    @property
    def quoted(self) -> bool:
        """CSV fields may quote newlines; a JSON Lines record always ends at its newline."""
        return self.record.input_format == "csv"

    def feed(self, data: bytes) -> list[list[bytes]]:
        """Take the next bytes (cheap: no copy, no scan, fit for an event loop); returns the
        pieces to `put` once a chunk's worth has come (the columns are checked first)."""
        if self._splitter is not None:
            pieces = self._splitter.collect(data)
            return [pieces] if pieces else []
        self._head += data
        if len(self._head) < len(BOM) and BOM.startswith(bytes(self._head)):
            return []
        head = bytes(self._head).removeprefix(BOM)
        split = split_first_record(head, self.quoted)
        if split is None:
            if len(head) > MAX_HEADER_BYTES:
                raise _problem("the first line is longer than 1 MiB")
            return []
        self._head.clear()
        return self._start(*split)

    def put(self, pieces: list[bytes]) -> None:
        """Cut the pieces into chunks; store and queue each (blocking: run it off the event loop).

        Calls must come in the order `feed` handed the pieces out.
        """
        assert self._splitter is not None
        for chunk in self._splitter.cut(pieces):
            self._store(chunk)

    def finish(self) -> None:
        """The stream ended: check the columns if not yet, store and queue the last chunks."""
        if self._splitter is None:
            tail = bytes(self._head).removeprefix(BOM)
            if not tail.strip():
                raise _problem("the file is empty")
            self._head.clear()
            for pieces in self._start(tail, b""):
                self.put(pieces)
        assert self._splitter is not None
        for chunk in self._splitter.finish():
            self._store(chunk)

    def _store(self, chunk: Chunk) -> None:
        if not self.created:
            self._create()
        index, self._stored = self._stored, self._stored + 1
        self._records += chunk.records
        self.storage.write_bytes(layout.chunk_key(self.record.id, index), chunk.data)
        self.enqueue(self.record, index, {"first_line": chunk.first_line})
        self._last = (index, chunk)

    def close(self) -> None:
        """After the last `put`: record the totals (and end the job if it is already scored)."""
        if not self.created:
            raise InputProblem("No rows to score", [{"loc": ["body"], "msg": "no data rows"}])
        self.record.chunks_total, self.record.rows_total = self._stored, self._records
        complete = self.ledger.seal(self.record.id, self._stored, self._records)
        if complete and self._last is not None:
            # Every chunk was scored before the totals were known, so no worker saw the job
            # complete: the last chunk's task again (a no-op for a scored chunk) ends the job.
            index, chunk = self._last
            self.enqueue(self.record, index, {"first_line": chunk.first_line})

    def abort(self, code: str, message: str) -> None:
        """The upload broke off: end the job (if created) as failed and remove its files."""
        if self.created:
            self.store.fail(self.record.id, code, message)
        # A chunk being scored may still write its part; retention removes what is left.
        with contextlib.suppress(OSError):
            self.storage.delete_prefix(layout.job_prefix(self.record.id))

    def _start(self, first: bytes, rest: bytes) -> list[list[bytes]]:
        check_first_record(first, self.record.input_format or "csv", self.schema, self.record)
        if self.record.input_format == "csv":
            first_line = 1 + first.count(b"\n")
            self.storage.write_bytes(layout.header_key(self.record.id), first)
        else:
            rest, first_line = first + rest, 1
        self._splitter = RecordSplitter(self.chunk_bytes, quoted=self.quoted, first_line=first_line)
        pieces = self._splitter.collect(rest)
        return [pieces] if pieces else []

    def _create(self) -> None:
        self.record.input_location = f"{layout.job_prefix(self.record.id)}/input"
        self.record.result_location = layout.parts_prefix(self.record.id)
        self.store.create(self.record)
        self.created = True


def check_first_record(first: bytes, fmt: str, schema: ModelSchema, record: JobRecord) -> None:
    """422 unless the CSV header (or the first JSON Lines object) has the model's columns."""
    if fmt == "csv":
        check_columns(parse_header(first), schema, record.passthrough, "header")
    else:
        check_columns(_jsonl_keys(first), schema, record.passthrough, "line 1")


def read_first_record(data: bytes, quoted: bool) -> bytes:
    """The first record of a file's opening bytes; 422 when it does not end within them."""
    split = split_first_record(data.removeprefix(BOM), quoted)
    if split is None:
        raise _problem("the first line does not end within 1 MiB")
    return split[0]


def _jsonl_keys(line: bytes) -> list[str]:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise _problem(f"line 1 is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise _problem("line 1 is not a JSON object")
    return list(value)


def _problem(msg: str) -> InputProblem:
    return InputProblem("Unreadable file", [{"loc": ["body"], "msg": msg}])
