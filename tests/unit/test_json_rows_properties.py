"""Property-based tests of JSON row parsing: any input is read or refused, never crashes."""

from __future__ import annotations

import json
import math
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from api.submit.json_job import parse_job_body
from inferq.json_rows import ROW_FORMATS, Rows, check_rows, rows_from_payload
from inferq.problems import InputProblem
from inferq.schema import Feature, ModelSchema

SCHEMA = ModelSchema(
    features=[Feature("age"), Feature("income"), Feature("plan", "string")],
    task="classification",
    classes=[0, 1],
)
NAN_SCHEMA = ModelSchema(features=SCHEMA.features, task="regression", allow_nan=True)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=20,
)
numbers = st.integers(-(10**12), 10**12) | st.floats(allow_nan=False, allow_infinity=False)
good_rows = st.lists(
    st.tuples(numbers, numbers, st.text(max_size=10)).map(list), min_size=1, max_size=20
)


def assert_well_formed(problem: InputProblem) -> None:
    """A refusal names each place (a non-empty loc) and what is wrong, as JSON can carry."""
    assert 400 <= problem.status < 500 and problem.errors
    for error in problem.errors:
        assert error["loc"] and isinstance(error["msg"], str) and error["msg"]
    orjson.dumps({"detail": problem.detail, "errors": problem.errors})


@settings(max_examples=300)
@given(fmt=st.sampled_from(ROW_FORMATS), payload=json_values, allow_nan=st.booleans())
def test_any_json_payload_is_read_or_refused_with_a_located_problem(
    fmt: str, payload: Any, allow_nan: bool
) -> None:
    """Whatever JSON arrives in a row field, the reader returns checked rows or an InputProblem."""
    schema = NAN_SCHEMA if allow_nan else SCHEMA
    try:
        rows = rows_from_payload(fmt, payload, schema)
        check_rows(rows, schema, [], fmt)
    except InputProblem as problem:
        assert_well_formed(problem)
        return
    assert rows.columns and all(len(row) == len(rows.columns) for row in rows.data)
    assert set(SCHEMA.feature_names) <= set(rows.columns)


@given(rows=good_rows)
def test_the_three_formats_of_the_same_rows_read_alike_and_pass(rows: list[list[Any]]) -> None:
    """Rows written as split, records or instances read to the same columns/data and pass."""
    names = SCHEMA.feature_names
    split = rows_from_payload("dataframe_split", {"columns": names, "data": rows}, SCHEMA)
    records = rows_from_payload(
        "dataframe_records", [dict(zip(names, row, strict=True)) for row in rows], SCHEMA
    )
    instances = rows_from_payload("instances", rows, SCHEMA)
    assert split == records == instances == Rows(names, rows)
    check_rows(split, SCHEMA, [], "dataframe_split")


@given(rows=good_rows, data=st.data())
def test_one_bad_value_is_reported_at_its_row_and_column(
    rows: list[list[Any]], data: st.DataObject
) -> None:
    """Spoiling one value names exactly that row and column."""
    row = data.draw(st.integers(0, len(rows) - 1))
    column = data.draw(st.sampled_from(range(3)))
    spoilt = (
        st.text(max_size=5) | st.booleans() | st.just(math.inf)
        if column < 2
        else numbers | st.booleans()
    )
    rows[row][column] = data.draw(spoilt)
    try:
        check_rows(Rows(SCHEMA.feature_names, rows), SCHEMA, [], "instances")
    except InputProblem as problem:
        assert problem.errors == [
            {
                "loc": ["instances", row, SCHEMA.feature_names[column]],
                "msg": problem.errors[0]["msg"],
            }
        ]
    else:
        raise AssertionError("a spoilt value was accepted")


@settings(max_examples=300)
@given(body=st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_request_body_parses_or_is_refused_as_a_client_mistake(body: bytes) -> None:
    """Bytes that are not a job request give an InputProblem naming the place, never a crash."""
    try:
        parse_job_body(body)
    except InputProblem as problem:
        assert_well_formed(problem)
