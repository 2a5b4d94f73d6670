"""Job options from query and form fields, and column checks of files."""

from __future__ import annotations

import pytest

from api.submit.file_options import options_from_fields
from inferq.files.columns import check_columns, parse_header
from inferq.problems import InputProblem
from inferq.schema import Feature, ModelSchema


def test_lists_repeat_or_use_commas_and_json_fields_parse() -> None:
    """`outputs` and `passthrough` take commas or repeats; metadata is JSON."""
    options = options_from_fields(
        [
            ("model", "iris@2"),
            ("outputs", "prediction,probabilities"),
            ("passthrough", "id"),
            ("passthrough", "region"),
            ("metadata", '{"batch": 7}'),
            ("max_error_rate", "0.2"),
        ],
        "query",
    )
    assert options.outputs == ["prediction", "probabilities"]
    assert options.passthrough == ["id", "region"]
    assert options.metadata == {"batch": 7} and options.max_error_rate == 0.2


def test_bad_option_names_the_field() -> None:
    """An unknown option is a 422 naming it under `query`."""
    with pytest.raises(InputProblem) as caught:
        options_from_fields([("model", "iris"), ("colour", "red")], "query")
    assert caught.value.errors[0]["loc"] == ["query", "colour"]


def test_header_checks_name_missing_and_repeated_columns() -> None:
    """Missing features and repeated passthrough columns are named; extra columns are fine."""
    schema = ModelSchema([Feature("a"), Feature("b")], "regression")
    columns = parse_header(b'\xef\xbb\xbf"a",id,id,other\r\n')
    assert columns == ["a", "id", "id", "other"]
    with pytest.raises(InputProblem) as caught:
        check_columns(columns, schema, ["id"], "header")
    assert [e["loc"] for e in caught.value.errors] == [["header", "b"], ["header", "id"]]
