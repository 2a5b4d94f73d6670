"""The client's pure parts: request bodies, typed errors and SSE parsing."""

from __future__ import annotations

import math

import httpx
import pandas as pd
import pytest

from inferq.client import (
    Conflict,
    InferqError,
    NotFound,
    RateLimited,
    ServerError,
    Unavailable,
    ValidationFailed,
)
from inferq.client.errors import error_from_response
from inferq.client.protocol import SSEDecoder, env_url, job_options, query_options, rows_payload


def test_a_dataframe_goes_as_split_with_nan_as_null() -> None:
    """A DataFrame becomes dataframe_split; NaN becomes null and numpy ints plain numbers."""
    frame = pd.DataFrame({"a": [1.5, math.nan], "b": pd.Series([1, 2], dtype="int64")})
    assert rows_payload(frame) == {
        "dataframe_split": {"columns": ["a", "b"], "data": [[1.5, 1], [None, 2]]}
    }


def test_records_and_instances_keep_their_format() -> None:
    """A list of dicts is dataframe_records, a list of lists is instances."""
    assert rows_payload([{"a": 1}]) == {"dataframe_records": [{"a": 1}]}
    assert rows_payload([[1, 2]]) == {"instances": [[1, 2]]}


def test_only_given_options_are_sent_and_lists_join_in_queries() -> None:
    """Unset options are left to the server; query strings carry lists comma-separated."""
    options = job_options("iris", outputs=["prediction", "probabilities"], priority=None)
    assert options == {"model": "iris", "outputs": ["prediction", "probabilities"]}
    assert query_options(options) == {"model": "iris", "outputs": "prediction,probabilities"}
    explained = job_options("wine", outputs=["contributions"], contributions_method="approximate")
    assert query_options(explained) == {
        "model": "wine",
        "outputs": "contributions",
        "contributions_method": "approximate",
    }


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (404, NotFound),
        (409, Conflict),
        (422, ValidationFailed),
        (503, Unavailable),
        (500, ServerError),
    ],
)
def test_problem_answers_become_typed_errors(status: int, cls: type[InferqError]) -> None:
    """Each status maps to its error class, carrying title, detail and field errors."""
    body = {
        "type": "t",
        "title": "Bad",
        "status": status,
        "detail": "why",
        "errors": [{"loc": ["body", "model"], "msg": "missing"}],
    }
    error = error_from_response(httpx.Response(status, json=body))
    assert type(error) is cls
    assert (error.status, error.title, error.detail) == (status, "Bad", "why")
    assert error.errors == [{"loc": ["body", "model"], "msg": "missing"}]


def test_retry_after_is_read_from_the_header() -> None:
    """429 and 503 answers tell how long to wait."""
    error = error_from_response(httpx.Response(429, headers={"Retry-After": "7"}, text="slow down"))
    assert isinstance(error, RateLimited) and error.retry_after == 7.0
    assert error.detail == "slow down"


def test_sse_decoder_yields_one_event_per_blank_line() -> None:
    """Comments are skipped; event name and JSON data make one event."""
    decoder = SSEDecoder()
    lines = [": keep-alive", "", "id: 1-0", "event: progress", 'data: {"rows_done": "5"}', ""]
    events = [e for e in map(decoder.feed, lines) if e is not None]
    assert [(e.kind, e.data) for e in events] == [("progress", {"rows_done": "5"})]


def test_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """INFERQ_URL is used unless an argument is given; the default is the local API."""
    monkeypatch.delenv("INFERQ_URL", raising=False)
    assert env_url(None) == "http://127.0.0.1:8000"
    monkeypatch.setenv("INFERQ_URL", "http://example.test:9/")
    assert env_url(None) == "http://example.test:9"
    assert env_url("http://other") == "http://other"
