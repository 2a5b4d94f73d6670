"""Cutting a byte stream of records into chunks that end on record ends, as it arrives.

A record ends at a newline outside double quotes, so a quoted CSV field may hold newlines. The
quote state is the parity of the quotes seen since the chunk began (every chunk begins on a
record start); a stray quote inside an unquoted field can mislead it, so a chunk that finds no
record end grows at most to `MAX_GROWTH` times its target before it is cut at a plain newline.

Splitting has two steps so that a server can keep its event loop free: `collect` only keeps the
pieces it is given (no copy, no scan) and hands them back once a chunk's worth has come; `cut`
joins them to what was left over, finds the record ends with one numpy scan (newlines, quotes and
their parity), and makes chunks that already know their line and record counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NEWLINE, CARRIAGE_RETURN, QUOTE = 10, 13, 34
MAX_GROWTH = 4


@dataclass(frozen=True)
class Chunk:
    """Whole records of the input: their bytes, the line they start on and how many they are."""

    data: bytes
    first_line: int
    """1-based physical line of the input where the chunk's first line is."""
    records: int
    """Non-blank records in the chunk (exact unless quoting is malformed)."""

    def __repr__(self) -> str:
        return f"Chunk({len(self.data)} bytes from line {self.first_line})"


def record_ends(data: bytes | bytearray | memoryview, quoted: bool) -> np.ndarray:
    """Offsets of the newlines in `data` that end a record (outside quotes when `quoted`)."""
    return _Scan(data, quoted).ends


class _Scan:
    """Where the newlines and the record ends of a buffer are (one pass of numpy)."""

    def __init__(self, data: bytes | bytearray | memoryview, quoted: bool) -> None:
        self.data = data
        self.arr = np.frombuffer(data, dtype=np.uint8)
        self.newlines = np.flatnonzero(self.arr == NEWLINE)
        self.ends = self.newlines
        if quoted and len(self.newlines) and b'"' in data:
            quotes = np.flatnonzero(self.arr == QUOTE)
            self.ends = self.newlines[np.searchsorted(quotes, self.newlines) % 2 == 0]

    def first_end_from(self, offset: int) -> int:
        """The first record end at or after `offset`, or -1."""
        at = int(np.searchsorted(self.ends, offset))
        return int(self.ends[at]) if at < len(self.ends) else -1

    def lines_in(self, start: int, stop: int) -> int:
        """Newlines in data[start:stop]."""
        return int(np.searchsorted(self.newlines, stop) - np.searchsorted(self.newlines, start))

    def records_in(self, start: int, stop: int) -> int:
        """Non-blank records (empty or a lone CR is blank) in data[start:stop], a record start;
        a last record without its newline counts too."""
        ends = self.ends[np.searchsorted(self.ends, start) : np.searchsorted(self.ends, stop)]
        count = 0
        if len(ends):
            starts = np.concatenate(([start], ends[:-1] + 1))
            lengths = ends - starts
            blank = (lengths == 0) | ((lengths == 1) & (self.arr[starts] == CARRIAGE_RETURN))
            count = int(len(ends) - np.count_nonzero(blank))
        tail = self.data[int(ends[-1]) + 1 if len(ends) else start : stop]
        return count + (1 if len(tail) and bytes(tail) != b"\r" else 0)


class RecordSplitter:
    """Takes bytes in pieces and makes chunks of about `target` bytes of whole records."""

    def __init__(self, target: int, *, quoted: bool, first_line: int = 1) -> None:
        self.target = max(1, target)
        self.quoted = quoted
        self.next_line = first_line
        self.chunks = 0
        self._pieces: list[bytes] = []
        self._collected = 0
        self._rest = b""

    def collect(self, data: bytes) -> list[bytes] | None:
        """Keep `data`; once a target's worth has come, the pieces to `cut` (cheap: no copy)."""
        if not data:
            return None
        self._pieces.append(data)
        self._collected += len(data)
        if self._collected < self.target:
            return None
        pieces, self._pieces, self._collected = self._pieces, [], 0
        return pieces

    def cut(self, pieces: list[bytes]) -> list[Chunk]:
        """Chunks of whole records from what was left over and `pieces`; keeps the rest.

        Calls must come in the order `collect` handed the pieces out.
        """
        data = b"".join([self._rest, *pieces])
        scan = _Scan(data, self.quoted)
        chunks, start = [], 0
        while len(data) - start >= self.target:
            end = scan.first_end_from(start + self.target - 1)
            if end < 0:
                break
            chunks.append(self._emit(scan, start, end + 1))
            start = end + 1
        if not chunks and len(data) >= MAX_GROWTH * self.target and b"\n" in data:
            # No record end in MAX_GROWTH targets: a stray quote. Cut at the last plain newline;
            # the next chunk starts its quote parity afresh.
            chunks.append(self._emit(scan, 0, data.rfind(b"\n") + 1))
            start = len(chunks[0].data)
        self._rest = data[start:]
        return chunks

    def feed(self, data: bytes) -> list[Chunk]:
        """`collect` and, when a target's worth has come, `cut`: the chunks complete now."""
        pieces = self.collect(data)
        return self.cut(pieces) if pieces else []

    def finish(self) -> list[Chunk]:
        """The rest of the input as the last chunks (none when only blank lines are left).

        A rest of half a target or more is cut in two, so that two worker processes share the
        work that is left when an upload ends.
        """
        chunks = self.cut(self._pieces)
        self._pieces, self._collected = [], 0
        data, self._rest = self._rest, b""
        scan = _Scan(data, self.quoted)
        middle = scan.first_end_from(len(data) // 2) if len(data) >= self.target // 2 else -1
        bounds = [0, middle + 1, len(data)] if 0 <= middle < len(data) - 1 else [0, len(data)]
        for start, stop in zip(bounds, bounds[1:], strict=False):
            if scan.records_in(start, stop):
                chunks.append(self._emit(scan, start, stop))
            else:
                self.next_line += scan.lines_in(start, stop)
        return chunks

    def _emit(self, scan: _Scan, start: int, stop: int) -> Chunk:
        # The splitter scans `bytes`: the slice is bytes already (`bytes()` copies nothing).
        chunk = Chunk(bytes(scan.data[start:stop]), self.next_line, scan.records_in(start, stop))
        self.next_line += scan.lines_in(start, stop)
        self.chunks += 1
        return chunk


def split_first_record(data: bytes, quoted: bool) -> tuple[bytes, bytes] | None:
    """The first record (with its newline) and the rest, or None when it has not ended yet."""
    ends = record_ends(data, quoted)
    if not len(ends):
        return None
    cut = int(ends[0]) + 1
    return data[:cut], data[cut:]
