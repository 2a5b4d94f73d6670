"""Reading CSV chunks: fast and careful paths agree; bad lines are named."""

from __future__ import annotations

from inferq.schema import Feature, ModelSchema
from workers.csv_chunks import read_csv_chunk

SCHEMA = ModelSchema([Feature("a"), Feature("b")], "classification", classes=[0, 1])
HEADER = b"id,b,a,extra\r\n"


def test_clean_chunk_reads_features_as_floats_and_passthrough_unchanged() -> None:
    """A clean chunk keeps quoted passthrough text and ignores extra columns."""
    rows = read_csv_chunk(HEADER, b'"x,1",1,2,z\r\n"y\nz",3,4.5,q\r\n', 2, SCHEMA, ["id"])
    assert rows.errors == []
    assert rows.frame["id"].tolist() == ["x,1", "y\nz"]
    assert rows.frame["a"].tolist() == [2.0, 4.5] and rows.frame["b"].tolist() == [1.0, 3.0]


def test_bad_records_and_values_are_named_by_line() -> None:
    """Wrong field counts, words, missing and infinite values each give an error at its line."""
    data = (
        b'x,1,2,e\r\n"q\nr",3,4,e\r\n\r\nshort,5\r\n'
        b"w,abc,6,e\r\nv,,7,e\r\nu,inf,8,e\r\nok,9,9,e\r\n"
    )
    rows = read_csv_chunk(HEADER, data, 2, SCHEMA, ["id"])
    assert [(e["line"], e["column"]) for e in rows.errors] == [
        (6, None),
        (7, "b"),
        (8, "b"),
        (9, "b"),
    ]
    assert rows.failed == 4
    assert rows.frame["id"].tolist() == ["x", "q\nr", "ok"]
    assert rows.frame["a"].tolist() == [2.0, 4.0, 9.0]
