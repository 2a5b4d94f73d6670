"""Cutting record streams into chunks on record ends."""

from __future__ import annotations

import random

import pytest

from inferq.files.splitter import RecordSplitter, split_first_record

DATA = b"".join(b'%d,"a\nb",%d\r\n' % (i, i) + (b"\r\n" if i % 7 == 0 else b"") for i in range(500))


def _split(data: bytes, target: int, seed: int = 0) -> list:
    splitter = RecordSplitter(target, quoted=True, first_line=2)
    rng = random.Random(seed)
    chunks, position = [], 0
    while position < len(data):
        size = rng.randint(1, 2000)
        chunks += splitter.feed(data[position : position + size])
        position += size
    return chunks + splitter.finish()


@pytest.mark.parametrize("target", [1, 64, 1000, 10**6])
def test_chunks_hold_whole_records_and_know_their_first_line(target: int) -> None:
    """Every record lands in exactly one chunk; quoted newlines never end a chunk."""
    chunks = _split(DATA, target)
    assert sum(chunk.records for chunk in chunks) == 500
    lines = DATA.split(b"\n")
    for chunk in chunks:
        assert chunk.data.endswith(b"\r\n") or chunk is chunks[-1]
        assert lines[chunk.first_line - 2].startswith(chunk.data.split(b"\n")[0])
    if target >= 64:
        assert b"".join(chunk.data for chunk in chunks) == DATA


def test_chunks_are_about_the_target_size() -> None:
    """A chunk passes its target by at most one record."""
    chunks = _split(DATA, 1000)
    assert all(len(chunk.data) < 1000 + 20 for chunk in chunks)
    assert len(chunks) == len(DATA) // 1000 + 1


def test_a_stray_quote_cannot_grow_a_chunk_without_bound() -> None:
    """An unbalanced quote makes every later newline look quoted; the chunk is cut anyway."""
    data = b'1,ab"c\n' + b"2,x\n" * 1000
    chunks = _split(data, 100)
    assert max(len(chunk.data) for chunk in chunks) <= 4 * 100 + 2000
    assert sum(chunk.data.count(b"\n") for chunk in chunks) == 1001


def test_first_record_may_span_lines() -> None:
    """The header ends at the first newline outside quotes."""
    assert split_first_record(b'a,"b\nc"\n1,2\n', quoted=True) == (b'a,"b\nc"\n', b"1,2\n")
    assert split_first_record(b"a,b", quoted=True) is None
