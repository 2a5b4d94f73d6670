"""Metric field names, queue list names and JSON log lines."""

from __future__ import annotations

import logging

import orjson

from inferq.logs import JsonFormatter, log_context
from inferq.metrics.collector import queue_lists
from inferq.metrics.keys import counter_field, parse_counter_field


def test_counter_fields_round_trip_their_labels() -> None:
    """A labelled counter's field gives back its name and labels."""
    field = counter_field("webhook_deliveries", outcome="success", code="200")
    assert parse_counter_field(field) == (
        "webhook_deliveries",
        {"code": "200", "outcome": "success"},
    )
    assert parse_counter_field("rows_scored") == ("rows_scored", {})


def test_queue_lists_follow_kombus_priority_naming() -> None:
    """Priority 0 is the plain list; other steps append kombu's separator and the step."""
    assert queue_lists("inferq.jobs", [0, 3]) == ["inferq.jobs", "inferq.jobs\x06\x163"]


def test_json_log_lines_carry_the_context_and_extras() -> None:
    """Inside log_context every line names the job and tenant; extras are fields too."""
    record = logging.LogRecord("inferq.test", logging.INFO, __file__, 1, "scored %d", (5,), None)
    record.rows = 5
    with log_context(job_id="job_1", tenant="acme"):
        line = orjson.loads(JsonFormatter().format(record))
    assert line["message"] == "scored 5" and line["process"] == record.process
    assert (line["job_id"], line["tenant"], line["rows"], line["level"]) == (
        "job_1",
        "acme",
        5,
        "info",
    )
    outside = orjson.loads(JsonFormatter().format(record))
    assert "job_id" not in outside
