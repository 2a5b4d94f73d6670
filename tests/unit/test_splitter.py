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


def test_the_rest_of_an_input_is_cut_in_two_for_two_worker_processes() -> None:
    """What is left when the input ends, half a target or more, becomes two chunks of whole
    records; a smaller rest stays one chunk."""
    data = b"".join(b"%d,x\n" % i for i in range(100))
    splitter = RecordSplitter(len(data) + 1, quoted=True, first_line=2)
    assert splitter.feed(data) == []
    first, second = splitter.finish()
    assert first.data + second.data == data
    assert first.records + second.records == 100
    assert len(data) // 2 <= len(first.data) <= len(data) // 2 + len(b"99,x\n")
    assert second.first_line == 2 + first.data.count(b"\n")
    small = RecordSplitter(10 * len(data), quoted=True)
    assert small.feed(data) == [] and len(small.finish()) == 1


def test_collecting_hands_pieces_back_only_once_a_target_has_come() -> None:
    """`collect` keeps pieces as they are until a target's worth has come; `cut` makes chunks."""
    splitter = RecordSplitter(10, quoted=True)
    assert splitter.collect(b"1,a\n2,") is None
    pieces = splitter.collect(b"b\n3,c\n")
    assert pieces == [b"1,a\n2,", b"b\n3,c\n"]
    (chunk,) = splitter.cut(pieces)
    assert chunk.data == b"1,a\n2,b\n3,c\n" and chunk.records == 3
