"""A JSON tensor's `data` reads to the same float64 values (or the same refusal) whether NumPy
takes it in one pass or it is read value by value."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from api.protocols.tensors import _flatten, _json_values
from inferq.problems import InputProblem

NUMBERS = frozenset((int, float, bool))

scalars = (
    st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(-(2**80), 2**80)
    | st.booleans()
    | st.none()
    | st.sampled_from(["1.5", "x", ""])
)
#: Flat lists, regular nestings (as [N, F] data) and ragged ones, mostly numbers.
data = st.one_of(
    st.lists(st.floats(-1e9, 1e9) | st.integers(-5, 5), max_size=12),
    st.lists(scalars, max_size=8),
    st.integers(1, 4).flatmap(
        lambda width: st.lists(st.lists(st.floats(-1e3, 1e3), min_size=width, max_size=width))
    ),
    st.recursive(scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=10),
)


def value_by_value(datatype: str, values: Any) -> np.ndarray | str:
    """What the tensor reads to when every value is looked at in Python (or the refusal)."""
    flat = _flatten(values)
    for value in flat:
        if type(value) not in NUMBERS:
            return f"input 'x' holds {value!r}, not a number: its datatype is {datatype}"
    return np.asarray(flat, dtype=np.float64)


@settings(max_examples=400)
@given(values=data)
def test_numbers_read_alike_in_one_pass_or_value_by_value(values: Any) -> None:
    """Same float64 values, or the same message naming the first value that is not a number."""
    expected = value_by_value("FP64", values)
    try:
        read: np.ndarray | str = _json_values("x", "FP64", values)
    except InputProblem as exc:
        read = exc.title
    if isinstance(expected, str):
        assert read == expected
    else:
        assert isinstance(read, np.ndarray) and read.dtype == np.float64
        assert np.array_equal(read, expected)
