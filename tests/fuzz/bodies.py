"""File bodies for the fuzzer: CSV, JSON Lines and Parquet that are mostly almost right.

Random bytes stop at the first line of a parser. These tables mostly carry the demo models'
column names, with cells of any type, NaN and infinities, ragged rows, and now and then bytes
cut off, flipped or inserted (bad UTF-8, truncated Parquet), so the fuzzer reaches the row
checks and the Parquet reader behind them.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pandas as pd
import schemathesis
from hypothesis import strategies as st

IRIS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
CSV_TYPES = ("text/csv", "application/csv")
JSONL_TYPES = ("application/x-ndjson", "application/jsonl", "application/jsonlines")
PARQUET_TYPES = ("application/vnd.apache.parquet", "application/x-parquet")

Table = tuple[list[str], list[list[Any]]]

_cells = st.one_of(
    st.floats(),
    st.integers(),
    st.text(max_size=6),
    st.booleans(),
    st.none(),
)
_names = st.one_of(
    st.just(IRIS),
    st.permutations(IRIS),
    st.lists(st.one_of(st.sampled_from([*IRIS, "id"]), st.text(max_size=6)), max_size=6),
)


@st.composite
def tables(draw: st.DrawFn) -> Table:
    """Column names and rows of cells; a row may be short or long by one."""
    names = list(dict.fromkeys(draw(_names)))
    width = st.integers(max(len(names) - 1, 0), len(names) + 1)
    rows = draw(
        st.lists(width.flatmap(lambda n: st.lists(_cells, min_size=n, max_size=n)), max_size=5)
    )
    return names, rows


def to_csv(table: Table) -> bytes:
    """The table as CSV, header first."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table[0])
    writer.writerows(table[1])
    return out.getvalue().encode()


def to_jsonl(table: Table) -> bytes:
    """One JSON object per row (NaN and Infinity spelled as Python's json module does)."""
    names, rows = table
    lines = [json.dumps(dict(zip(names, row, strict=False))) for row in rows]
    return "\n".join(lines).encode()


@st.composite
def parquet_files(draw: st.DrawFn) -> bytes:
    """A Parquet file of typed columns: the model's or others, floats, integers, text or flags."""
    names = list(dict.fromkeys(draw(_names)))
    count = draw(st.integers(0, 4))
    kinds = [st.floats(), st.integers(-(2**63), 2**63 - 1), st.text(max_size=6), st.booleans()]
    columns = {}
    for name in names:
        kind = draw(st.sampled_from(kinds))
        columns[name] = draw(st.lists(kind, min_size=count, max_size=count))
    out = io.BytesIO()
    try:
        pd.DataFrame(columns).to_parquet(out, index=False)
    except Exception:  # a table pyarrow will not write (a name or value it refuses): bytes then
        return draw(st.binary(max_size=64))
    return out.getvalue()


@st.composite
def spoiled(draw: st.DrawFn, files: st.SearchStrategy[bytes]) -> bytes:
    """A file as it is, mostly; else cut short, or with a few bytes changed or inserted."""
    data = draw(files)
    how = draw(st.sampled_from(["as is", "as is", "as is", "cut", "change", "insert"]))
    if how == "as is" or not data:
        return data
    at = draw(st.integers(0, len(data) - 1))
    if how == "cut":
        return data[:at]
    junk = draw(st.binary(min_size=1, max_size=4))
    return data[:at] + junk + data[at + (len(junk) if how == "change" else 0) :]


def register() -> None:
    """Make schemathesis generate (and send as they are) bodies of these media types, raw or
    as a form's file part."""
    csv_bodies = spoiled(tables().map(to_csv))
    jsonl_bodies = spoiled(tables().map(to_jsonl))
    parquet_bodies = spoiled(parquet_files())
    schemathesis.openapi.media_type(CSV_TYPES[0], csv_bodies, aliases=CSV_TYPES[1:])
    schemathesis.openapi.media_type(JSONL_TYPES[0], jsonl_bodies, aliases=JSONL_TYPES[1:])
    schemathesis.openapi.media_type(PARQUET_TYPES[0], parquet_bodies, aliases=PARQUET_TYPES[1:])
