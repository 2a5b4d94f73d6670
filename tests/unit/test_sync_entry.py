"""A sync request's lane entry reads back as written, rows byte for byte."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from inferq.jobs.sync import SyncRequest, answer_message, refusal_message


def test_a_lane_entry_reads_back_as_written() -> None:
    """Header (deadline, priority, id), options and the rows JSON survive the round trip, even
    with line breaks inside the values."""
    rows = orjson.dumps({"columns": ["plan", "age"], "data": [["a\nb", 3.5], ["pro", 1e-9]]})
    request = SyncRequest(
        id="abc123",
        tenant="team-a",
        protocol="v2",
        model_name="churn",
        model_version=4,
        rows=rows,
        deadline=1_800_000_000.125,
        outputs=["prediction", "probabilities"],
        priority="high",
        rows_total=2,
    )
    entry = request.entry()
    assert entry.startswith(b"~1800000000.125 high abc123\n")
    assert SyncRequest.from_entry(entry) == request
    record = request.as_record()
    assert (record.id, record.model_name, record.model_version) == ("abc123", "churn", 4)
    assert record.rows_total == 2 and record.outputs == ["prediction", "probabilities"]


def test_answers_name_the_request_and_their_kind() -> None:
    """The published head is `<id> answered|refused`, as the API's watcher reads it."""
    assert answer_message("r1", b'{"columns":[]}') == b'r1 answered\n{"columns":[]}'
    refused = refusal_message("r2", {"code": "invalid_input", "message": "bad"})
    head, _, body = refused.partition(b"\n")
    assert head == b"r2 refused" and orjson.loads(body)["code"] == "invalid_input"


def test_a_matrix_entry_carries_the_rows_as_raw_float64() -> None:
    """A numeric request's rows travel as the matrix's bytes (line breaks, NaN and all) and
    read back as the same `[rows, width]` matrix; a JSON request has no matrix."""
    line_breaks = np.frombuffer(b"\n" * 8, "<f8")[0]  # a number whose bytes are all b"\n"
    matrix = np.array([[1.5, np.nan, -np.inf], [line_breaks, 0.1, 2.0**-1074]])
    raw = SyncRequest.matrix_bytes(matrix)
    assert raw == matrix.astype("<f8").tobytes() and b"\n" * 8 in raw
    request = matrix_request("m1", raw, rows_total=2, width=3)
    back = SyncRequest.from_entry(request.entry())
    assert back == request
    read = back.matrix()
    assert read is not None and read.shape == (2, 3)
    assert np.array_equal(read, matrix, equal_nan=True)
    as_json = SyncRequest(**{**request.__dict__, "rows": b'{"columns":[],"data":[]}', "width": 0})
    assert SyncRequest.from_entry(as_json.entry()).matrix() is None


def test_rows_kept_apart_leave_the_entry_small() -> None:
    """A request whose rows travel apart writes only its header and options in the entry; it
    reads back marked `apart`, with no rows until the claim fetches them from `rows_key`."""
    raw = SyncRequest.matrix_bytes(np.ones((5_000, 4)))
    request = matrix_request("big1", raw, rows_total=5_000, width=4, apart=True)
    entry = request.entry()
    assert len(entry) < 300 and raw not in entry
    back = SyncRequest.from_entry(entry)
    assert back.apart and back.rows == b"" and back.width == 4 and back.rows_total == 5_000
    assert back.rows_key == request.rows_key == "inferq:sync:rows:big1"


def matrix_request(request_id: str, raw: bytes, **fields: Any) -> SyncRequest:
    """A v2 request for `churn` v1 whose rows are a matrix's bytes."""
    return SyncRequest(
        id=request_id,
        tenant="team-a",
        protocol="v2",
        model_name="churn",
        model_version=1,
        rows=raw,
        deadline=1_800_000_000.5,
        **fields,
    )
