"""Reading JSON rows in MLflow's formats and checking them against a schema."""

from __future__ import annotations

import pytest

from inferq.json_rows import Rows, check_rows, rows_from_payload
from inferq.problems import InputProblem
from inferq.schema import Feature, ModelSchema

SCHEMA = ModelSchema(
    features=[Feature("age"), Feature("plan", "string")], task="classification", classes=[0, 1]
)


def test_split_records_and_instances_give_the_same_rows() -> None:
    """All three formats of the same rows read to one columns/data form."""
    split = rows_from_payload(
        "dataframe_split", {"columns": ["age", "plan"], "data": [[3, "a"]]}, SCHEMA
    )
    records = rows_from_payload("dataframe_records", [{"age": 3, "plan": "a"}], SCHEMA)
    instances = rows_from_payload("instances", [[3, "a"]], SCHEMA)
    assert split == records == instances == Rows(["age", "plan"], [[3, "a"]])


def test_records_missing_a_key_name_the_row() -> None:
    """A record lacking a column another record has is named by index and column."""
    with pytest.raises(InputProblem) as caught:
        rows_from_payload("dataframe_records", [{"age": 1, "plan": "a"}, {"age": 2}], SCHEMA)
    assert caught.value.errors == [
        {"loc": ["dataframe_records", 1, "plan"], "msg": "this row lacks the column"}
    ]


def test_values_are_checked_by_feature_kind() -> None:
    """Numbers where numbers belong, strings where categories belong; booleans are not numbers."""
    rows = Rows(["age", "plan"], [[1, "a"], [True, "b"], [2, 3], [None, "c"]])
    with pytest.raises(InputProblem) as caught:
        check_rows(rows, SCHEMA, [], "rows")
    locs = [error["loc"] for error in caught.value.errors]
    assert locs == [["rows", 1, "age"], ["rows", 2, "plan"], ["rows", 3, "age"]]


def test_nulls_pass_when_the_model_takes_missing_values() -> None:
    """A model that allows NaN accepts null numbers."""
    schema = ModelSchema(features=[Feature("age")], task="regression", allow_nan=True)
    check_rows(Rows(["age"], [[None]]), schema, [], "rows")


def test_passthrough_must_be_present_and_extra_columns_are_refused() -> None:
    """A named passthrough column must exist; a column that is neither is unknown."""
    rows = Rows(["age", "plan", "colour"], [[1, "a", "red"]])
    with pytest.raises(InputProblem) as caught:
        check_rows(rows, SCHEMA, ["id"], "rows")
    msgs = {tuple(e["loc"]): e["msg"] for e in caught.value.errors}
    assert msgs[("rows", "id")] == "passthrough column not in the input"
    assert msgs[("rows", "colour")].startswith("unknown column")


def test_duplicate_split_columns_are_refused() -> None:
    """dataframe_split columns must be unique."""
    with pytest.raises(InputProblem, match="Duplicate"):
        rows_from_payload("dataframe_split", {"columns": ["age", "age"], "data": []}, SCHEMA)


def test_problem_detail_summarises_first_error_and_count() -> None:
    """The detail names the first place and how many more there are."""
    problem = InputProblem("t", [{"loc": ["a", 1], "msg": "bad"}, {"loc": ["b"], "msg": "worse"}])
    assert problem.detail == "a.1: bad (and 1 more)"
