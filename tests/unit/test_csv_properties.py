"""Property-based tests of CSV files: any file cut at any size reads like the whole file.

Files are generated with Python's csv writer (quoted fields holding commas, quotes, CR and LF;
CRLF or LF line ends; a BOM; blank lines; a header that spans lines) together with what reading
them must give: the good rows, and each bad record's 1-based line (the header is line 1).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from inferq.files.columns import BOM, parse_header
from inferq.files.splitter import (
    MAX_GROWTH,
    Chunk,
    RecordSplitter,
    record_ends,
    split_first_record,
)
from inferq.schema import Feature, ModelSchema
from workers.csv_chunks import read_csv_chunk

SCHEMA = ModelSchema([Feature("a"), Feature("b")], "classification", classes=[0, 1])
FEATURES = ("a", "b")
PROPERTIES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

texts = st.text(st.sampled_from(list("abc xyz,\"\n\r;\t'é€")), max_size=12) | st.sampled_from(
    ["NA", "null", "1.5", ""]
)
good_numbers = st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr) | st.integers(
    -(10**9), 10**9
).map(str)
# A bad feature value and the error column it must be reported under.
bad_numbers = st.sampled_from(["abc", "", "inf", "-inf", "1,5", "1.2.3", "NaN"])


@dataclass
class CsvFile:
    """A generated file and what reading it must give."""

    data: bytes
    columns: list[str]
    header_lines: int
    rows: list[tuple[str, float, float]] = field(default_factory=list)
    """The good rows: id, a, b."""
    errors: list[tuple[int, str | None]] = field(default_factory=list)
    """(line, column) of each bad value; column None for a record of the wrong width."""
    records: int = 0
    """Non-blank records after the header."""


@st.composite
def csv_files(draw: st.DrawFn) -> CsvFile:
    """A CSV file with id, a, b (and maybe an extra column), some records bad, as bytes."""
    end = draw(st.sampled_from(["\n", "\r\n"]))
    extra = draw(st.sampled_from([None, "note", 'odd "name",\nhere']))
    columns = ["id", "a", "b"] if extra is None else ["id", extra, "b", "a"]
    out = io.StringIO()
    header = csv_line(columns, end)
    out.write(header)
    made = CsvFile(b"", columns, header.count("\n"))
    line = made.header_lines + 1
    for _ in range(draw(st.integers(0, 25))):
        if draw(st.integers(0, 9)) == 0:
            out.write(end)  # a blank line: skipped, but it counts for line numbers
            line += 1
            continue
        ident = draw(texts)
        values = {name: draw(good_numbers) for name in FEATURES}
        bad = draw(st.sampled_from([None, None, None, "a", "b", "width"]))
        if bad in FEATURES:
            values[bad] = draw(bad_numbers)
        fields = {"id": ident, **values, extra: draw(texts)} if extra else {"id": ident, **values}
        record = [fields[name] for name in columns]
        if bad == "width":
            record = record[: draw(st.integers(1, len(record) - 1))]
        text = csv_line(record, end)
        out.write(text)
        made.records += 1
        if bad == "width":
            made.errors.append((line, None))
        elif bad in FEATURES:
            made.errors.append((line, bad))
        else:
            made.rows.append((ident, float(values["a"]), float(values["b"])))
        line += text.count("\n")
    bom = BOM if draw(st.booleans()) else b""
    made.data = bom + out.getvalue().encode()
    return made


def csv_line(fields: list[str], end: str) -> str:
    """One record as valid CSV ending in `end`: a field holding CR or LF is always quoted."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(fields)
    return out.getvalue().removesuffix("\r\n") + end


def split_header(data: bytes) -> tuple[bytes, bytes, int]:
    """Header, rest and the rest's first line, as the API's intake takes a CSV stream apart."""
    split = split_first_record(data.removeprefix(BOM), quoted=True)
    assert split is not None
    header, rest = split
    return header, rest, 1 + header.count(b"\n")


def within_growth_limit(rest: bytes, target: int) -> bool:
    """Whether every record fits the splitter's documented bound (it cuts a record that outgrows
    `MAX_GROWTH` chunk targets at a plain newline, so that a stray quote cannot swallow a file)."""
    ends = record_ends(rest, quoted=True)
    bounds = np.concatenate(([-1], ends, [len(rest) - 1]))
    return int(np.diff(bounds).max(initial=0)) < (MAX_GROWTH - 1) * target


def cut(rest: bytes, first_line: int, target: int, pieces: list[int]) -> list[Chunk]:
    """The chunks a splitter of `target` bytes makes of `rest` fed in pieces of these sizes."""
    splitter = RecordSplitter(target, quoted=True, first_line=first_line)
    chunks: list[Chunk] = []
    position, sizes = 0, iter(pieces)
    while position < len(rest):
        size = next(sizes, len(rest))
        chunks += splitter.feed(rest[position : position + size])
        position += size
    return chunks + splitter.finish()


def read_rows(header: bytes, chunks: list[tuple[bytes, int]]) -> tuple[list[Any], list[Any]]:
    """Good rows and (line, column) errors of the chunks, read one by one, in order."""
    rows: list[Any] = []
    errors: list[Any] = []
    for data, first_line in chunks:
        read = read_csv_chunk(header, data, first_line, SCHEMA, ["id"])
        frame = read.frame
        rows += zip(frame["id"], frame["a"], frame["b"], strict=True)
        errors += [(error["line"], error["column"]) for error in read.errors]
    return rows, errors


def same_rows(got: list[Any], expected: list[tuple[str, float, float]]) -> bool:
    """Equal rows; numbers read back within a rounding of their text."""
    return len(got) == len(expected) and all(
        g[0] == e[0] and math.isclose(g[1], e[1]) and math.isclose(g[2], e[2])
        for g, e in zip(got, expected, strict=True)
    )


sizes = st.lists(st.integers(1, 300), max_size=40)


@PROPERTIES
@given(csv_files(), st.integers(1, 400), sizes)
def test_chunks_reassemble_the_file_on_record_ends(made: CsvFile, target: int, pieces: list[int]):
    """Chunks join to the file's records, each chunk whole records, each knowing its line."""
    header, rest, first_line = split_header(made.data)
    assume(within_growth_limit(rest, target))
    assert parse_header(header) == made.columns
    assert first_line == made.header_lines + 1
    chunks = cut(rest, first_line, target, pieces)
    joined = b"".join(chunk.data for chunk in chunks)
    assert rest.startswith(joined) and not rest[len(joined) :].strip(b"\r\n")
    assert sum(chunk.records for chunk in chunks) == made.records
    line, records = first_line, []
    for chunk in chunks:
        assert chunk.first_line == line
        assert chunk.data.endswith(b"\n") or chunk is chunks[-1]
        records += parse_records(chunk.data)
        line += chunk.data.count(b"\n")
    assert records == parse_records(rest), "a chunk began or ended inside a record"


def parse_records(data: bytes) -> list[list[str]]:
    """The non-blank records of CSV bytes, as Python's csv module reads them."""
    return [r for r in csv.reader(io.StringIO(data.decode(), newline="")) if r]


@PROPERTIES
@given(csv_files(), st.integers(1, 400), sizes)
def test_chunked_reading_gives_the_rows_and_lines_of_reading_whole(
    made: CsvFile, target: int, pieces: list[int]
) -> None:
    """Read in chunks or whole, a file gives the same good rows and the same bad lines."""
    header, rest, first_line = split_header(made.data)
    assume(within_growth_limit(rest, target))
    chunks = [(c.data, c.first_line) for c in cut(rest, first_line, target, pieces)]
    whole_rows, whole_errors = read_rows(header, [(rest, first_line)])
    rows, errors = read_rows(header, chunks)
    assert same_rows(whole_rows, made.rows) and same_rows(rows, made.rows)
    assert sorted(whole_errors, key=str) == sorted(made.errors, key=str)
    assert sorted(errors, key=str) == sorted(made.errors, key=str)
    assert [line for line, _ in errors] == sorted(line for line, _ in errors)
