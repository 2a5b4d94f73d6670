"""A numeric matrix is checked as its rows would be: the same problems, the same messages."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from inferq.json_rows import MatrixRows, Rows, check_matrix, check_rows, checked_matrix
from inferq.problems import InputProblem
from inferq.schema import Feature, ModelSchema

FEATURES = [Feature("age"), Feature("income"), Feature("score")]
SCHEMA = ModelSchema(features=FEATURES, task="classification", classes=[0, 1])
NAN_SCHEMA = ModelSchema(features=FEATURES, task="regression", allow_nan=True)
NAMES = SCHEMA.feature_names

#: Values with many NaNs and infinities among ordinary numbers.
values = st.sampled_from([np.nan, np.inf, -np.inf, 0.0]) | st.floats(-1e6, 1e6)


def as_rows(matrix: np.ndarray) -> Rows:
    """The same rows as lists, a NaN as a missing value (as the v2 adapter reads tensors)."""
    return Rows(NAMES, [[None if v != v else v for v in row] for row in matrix.tolist()])


def problem(check: object) -> tuple[str, str, int, list[dict[str, object]]] | None:
    """The title, detail, problem count and listed errors `check` raises; None if it passes."""
    try:
        check()  # type: ignore[operator]
    except InputProblem as exc:
        return exc.title, exc.detail, exc.total, exc.errors
    return None


@settings(max_examples=300)
@given(
    matrix=hnp.arrays(np.float64, st.tuples(st.integers(0, 30), st.just(3)), elements=values),
    allow_nan=st.booleans(),
)
def test_a_matrix_is_refused_exactly_as_its_rows_are(matrix: np.ndarray, allow_nan: bool) -> None:
    """For any matrix (empty, NaN, infinities anywhere), check_matrix passes or refuses with the
    very title and errors (row, feature, message, in order) check_rows gives its rows."""
    schema = NAN_SCHEMA if allow_nan else SCHEMA
    by_rows = problem(lambda: check_rows(as_rows(matrix), schema, [], "inputs"))
    by_matrix = problem(lambda: check_matrix(MatrixRows(NAMES, matrix), schema, "inputs"))
    assert by_matrix == by_rows


def test_bad_values_are_named_by_row_and_feature() -> None:
    """NaN without missing values allowed, and infinity always, name the row and the feature."""
    matrix = np.array([[1.0, 2.0, 3.0], [np.nan, 1.0, np.inf], [4.0, 5.0, 6.0]])
    with pytest.raises(InputProblem) as caught:
        check_matrix(MatrixRows(NAMES, matrix), SCHEMA, "inputs")
    assert caught.value.errors == [
        {
            "loc": ["inputs", 1, "age"],
            "msg": "missing value, and the model does not accept missing values",
        },
        {"loc": ["inputs", 1, "score"], "msg": "expected a finite number"},
    ]
    with pytest.raises(InputProblem) as caught:
        check_matrix(MatrixRows(NAMES, matrix), NAN_SCHEMA, "inputs")
    assert caught.value.errors == [
        {"loc": ["inputs", 1, "score"], "msg": "expected a finite number"}
    ]


def test_many_bad_values_are_cut_where_check_rows_stops() -> None:
    """A matrix of NaNs reports as many problems as its rows would (1,001), no more."""
    matrix = np.full((500, 3), np.nan)
    by_rows = problem(lambda: check_rows(as_rows(matrix), SCHEMA, [], "inputs"))
    by_matrix = problem(lambda: check_matrix(MatrixRows(NAMES, matrix), SCHEMA, "inputs"))
    assert by_rows is not None and by_rows[2] == 1001
    assert by_matrix == by_rows


def test_finite_values_whose_sum_overflows_pass() -> None:
    """Huge finite numbers pass, though their sum is infinite."""
    matrix = np.full((2, 3), 1e308)
    check_matrix(MatrixRows(NAMES, matrix), SCHEMA, "inputs")


def test_checked_rows_become_a_matrix_in_feature_order() -> None:
    """Rows in another column order, with a missing value, read as the model's matrix."""
    rows = Rows(["score", "age", "income"], [[3, 1, None], [6.5, 4, 5]])
    matrix = checked_matrix(rows, NAN_SCHEMA)
    assert matrix is not None and matrix.columns == NAMES
    assert np.array_equal(matrix.matrix, [[1, np.nan, 3], [4, 5, 6.5]], equal_nan=True)


def test_rows_that_cannot_be_a_matrix_stay_rows() -> None:
    """A model with a category feature, or a number too big for a float, keeps Python rows."""
    categories = ModelSchema(features=[Feature("plan", "string")], task="regression")
    assert checked_matrix(Rows(["plan"], [["a"]]), categories) is None
    assert checked_matrix(Rows(NAMES, [[10**400, 1, 2]]), SCHEMA) is None
