"""Which queries the submission lane answers itself (the rest go to the FastAPI route)."""

from __future__ import annotations

import pytest

from api.lane import simple_query


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (b"", (0.0, None)),
        (b"wait=30&include=results", (30.0, "results")),
        (b"wait=0.5", (0.5, None)),
        (b"include=results&wait=1e1", (10.0, "results")),
        (b"wait=1&wait=2", (2.0, None)),
        (b"other=x", (0.0, None)),
    ],
)
def test_a_plain_query_is_read_as_the_route_reads_it(query: bytes, expected: tuple) -> None:
    """`wait` as seconds and `include=results`; the last of a repeated name counts."""
    assert simple_query(query) == expected


@pytest.mark.parametrize(
    "query", [b"wait=soon", b"wait=-1", b"wait=nan", b"wait=inf", b"include=all", b"include="]
)
def test_a_query_the_route_would_refuse_is_left_to_the_route(query: bytes) -> None:
    """A bad `wait` or `include` is not the lane's: the route answers its 422."""
    assert simple_query(query) is None
