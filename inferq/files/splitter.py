"""Cutting a byte stream of records into chunks that end on record ends, as it arrives.

A record ends at a newline outside double quotes, so a quoted CSV field may hold newlines. The
quote state is the parity of the quotes seen since the chunk began (every chunk begins on a
record start); a stray quote inside an unquoted field can mislead it, so a chunk that finds no
record end grows at most to `MAX_GROWTH` times its target before it is cut at a plain newline.

Cutting uses only byte counts (C speed, on the API's event loop); counting a chunk's records
needs the parity at every newline (numpy) and is left to `Chunk.records`, which the caller
computes off the event loop.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

NEWLINE, CARRIAGE_RETURN, QUOTE = 10, 13, 34
MAX_GROWTH = 4


class Chunk:
    """Whole records of the input: their bytes and the line they start on."""

    def __init__(self, data: bytes, first_line: int, quoted: bool) -> None:
        self.data = data
        self.first_line = first_line
        """1-based physical line of the input where the chunk's first line is."""
        self.quoted = quoted

    @cached_property
    def records(self) -> int:
        """Non-blank records in the chunk (exact unless quoting is malformed)."""
        return count_records_fast(self.data, self.quoted)

    def __repr__(self) -> str:
        return f"Chunk({len(self.data)} bytes from line {self.first_line})"


def record_ends(data: bytes | bytearray | memoryview, quoted: bool) -> np.ndarray:
    """Offsets of the newlines in `data` that end a record (outside quotes when `quoted`)."""
    arr = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(arr == NEWLINE)
    if quoted and len(ends):
        quotes = np.flatnonzero(arr == QUOTE)
        if len(quotes):
            ends = ends[np.searchsorted(quotes, ends) % 2 == 0]
    return ends


def count_records(data: bytes, ends: np.ndarray) -> int:
    """Records that are not blank (empty or a lone CR) among those ended at `ends` plus the tail."""
    arr = np.frombuffer(data, dtype=np.uint8)
    count = 0
    if len(ends):
        starts = np.concatenate(([0], ends[:-1] + 1))
        lengths = ends - starts
        blank = (lengths == 0) | ((lengths == 1) & (arr[starts] == CARRIAGE_RETURN))
        count = int(len(ends) - np.count_nonzero(blank))
    tail = data[int(ends[-1]) + 1 :] if len(ends) else data
    if tail and tail != b"\r":
        count += 1
    return count


def count_records_fast(data: bytes, quoted: bool) -> int:
    """`count_records` of a chunk, by plain byte counts when no quote or blank line is in it."""
    plain = not (quoted and b'"' in data)
    blank_free = b"\n\n" not in data and b"\n\r\n" not in data and data[:1] not in (b"\n", b"\r")
    if plain and blank_free:
        tail = data[data.rfind(b"\n") + 1 :]
        return data.count(b"\n") + (1 if tail and tail != b"\r" else 0)
    return count_records(data, record_ends(data, quoted))


class RecordSplitter:
    """Accumulates fed bytes and hands back chunks of about `target` bytes of whole records."""

    def __init__(self, target: int, *, quoted: bool, first_line: int = 1) -> None:
        self.target = max(1, target)
        self.quoted = quoted
        self.next_line = first_line
        self.chunks = 0
        self._buffer = bytearray()
        self._next_try = self.target

    def feed(self, data: bytes) -> list[Chunk]:
        """Add bytes; returns the chunks that are complete now (often none)."""
        self._buffer += data
        if len(self._buffer) < self._next_try:
            return []
        return self._cut()

    def finish(self) -> list[Chunk]:
        """The rest of the input as a last chunk (none when only blank lines are left)."""
        chunk = Chunk(bytes(self._buffer), self.next_line, self.quoted)
        self._buffer.clear()
        return [self._emit(chunk)] if chunk.records else []

    def _cut(self) -> list[Chunk]:
        """Cut as many chunks of at least `target` bytes as the buffer holds whole records for."""
        cuts, start = [], 0
        while len(self._buffer) - start >= self.target:
            end = self._record_end(start, start + self.target - 1)
            if end < 0:
                break
            cuts.append(end + 1)
            start = end + 1
        if not cuts and len(self._buffer) >= MAX_GROWTH * self.target and b"\n" in self._buffer:
            cuts = [self._buffer.rfind(b"\n") + 1]
        if not cuts:
            self._next_try = len(self._buffer) + self.target
            return []
        chunks, previous = [], 0
        for cut in cuts:
            data = bytes(self._buffer[previous:cut])
            chunks.append(self._emit(Chunk(data, self.next_line, self.quoted)))
            previous = cut
        del self._buffer[:previous]
        self._next_try = self.target
        return chunks

    def _record_end(self, start: int, at: int) -> int:
        """The first newline at or after `at` with an even count of quotes since `start`, or -1."""
        buffer = self._buffer
        end = buffer.find(b"\n", at)
        if not self.quoted or end < 0:
            return end
        quotes, counted = buffer.count(b'"', start, end), end
        while quotes % 2:
            end = buffer.find(b"\n", end + 1)
            if end < 0:
                return -1
            quotes += buffer.count(b'"', counted, end)
            counted = end
        return end

    def _emit(self, chunk: Chunk) -> Chunk:
        self.next_line += chunk.data.count(b"\n")
        self.chunks += 1
        return chunk


def split_first_record(data: bytes, quoted: bool) -> tuple[bytes, bytes] | None:
    """The first record (with its newline) and the rest, or None when it has not ended yet."""
    ends = record_ends(data, quoted)
    if not len(ends):
        return None
    cut = int(ends[0]) + 1
    return data[:cut], data[cut:]
