"""The long-poll watcher: which published messages wake waiters, and what they hand over."""

from __future__ import annotations

import orjson
import pytest

from api.reads.watch import JobWatcher


def _ending(job_id: str, status: str, result: bytes | None) -> bytes:
    fields = ["id", job_id, "tenant", "t1", "model_name", "iris", "model_version", "2"]
    fields += ["status", status, "created_at", "2026-01-01T00:00:00.000Z", "rows_total", "1"]
    message = f"{job_id} {status}\n".encode() + orjson.dumps(fields)
    return message if result is None else message + b"\n" + result


def test_an_ending_wakes_its_waiter_with_the_published_record_and_rows() -> None:
    """The waiter gets the record and rows as published."""
    watcher = JobWatcher(client=None)  # type: ignore[arg-type]
    event = watcher.register("job_a")
    watcher._dispatch(_ending("job_a", "succeeded", b'{"columns":["prediction"],\n"data":[[1]]}'))
    assert event.is_set()
    record, result = watcher.ending("job_a")
    assert (record.id, record.tenant, record.status, record.model_version) == (
        "job_a",
        "t1",
        "succeeded",
        2,
    )
    assert result == b'{"columns":["prediction"],\n"data":[[1]]}'  # newlines inside kept


def test_rows_too_big_to_publish_and_bare_endings_leave_the_rows_to_be_read() -> None:
    """An ending without rows (over 64 KB) or without a record still wakes the waiter."""
    watcher = JobWatcher(client=None)  # type: ignore[arg-type]
    big, bare = watcher.register("job_big"), watcher.register("job_bare")
    watcher._dispatch(_ending("job_big", "succeeded", None))
    watcher._dispatch(b"job_bare failed")  # a lost worker's job failed by the requeue script
    assert big.is_set() and bare.is_set()
    assert watcher.ending("job_big")[1] is None
    assert watcher.ending("job_bare") is None


def test_only_endings_wake_and_an_ending_heard_before_registering_is_remembered() -> None:
    """Other statuses wake nobody; a job that ended before its waiter came is handed over."""
    watcher = JobWatcher(client=None)  # type: ignore[arg-type]
    waiting = watcher.register("job_c")
    watcher._dispatch(b"job_c cancelling")
    assert not waiting.is_set()
    watcher._dispatch(_ending("job_d", "failed", None))
    assert watcher.register("job_d").is_set()
    assert watcher.ending("job_d")[0].status == "failed"


def test_remembered_endings_are_bounded_in_bytes() -> None:
    """Old endings make way once the published bytes kept pass their bound."""
    watcher = JobWatcher(client=None)  # type: ignore[arg-type]
    rows = b"x" * 60_000
    for index in range(400):  # 24 MB published in all
        watcher._dispatch(_ending(f"job_{index}", "succeeded", rows))
    assert watcher.ending("job_0") is None and not watcher.register("job_0").is_set()
    assert watcher.ending("job_399")[1] == rows
    assert watcher._ended_bytes <= 16 * 1024 * 1024


def test_an_ending_answers_only_while_fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seconds later the job is read again (it may have been deleted since), yet still known."""
    clock = [100.0]
    monkeypatch.setattr("api.reads.watch.time.monotonic", lambda: clock[0])
    watcher = JobWatcher(client=None)  # type: ignore[arg-type]
    watcher._dispatch(_ending("job_e", "succeeded", b"{}"))
    assert watcher.ending("job_e") is not None
    clock[0] += 2.5
    assert watcher.ending("job_e") is None and watcher.register("job_e").is_set()


def test_a_job_created_here_is_known_to_its_tenant_only() -> None:
    """A job this process created may be waited on without a read, by its own tenant."""
    watcher = JobWatcher(client=None)  # type: ignore[arg-type]
    watcher.created("job_new", "t1")
    assert watcher.knows("job_new", "t1")
    assert not watcher.knows("job_new", "t2")
    assert not watcher.knows("job_other", "t1")


def test_a_heard_ending_is_known_and_its_tenant_checked_when_read() -> None:
    """An ending heard lately is known; a bare one (no record to check the tenant) is not."""
    watcher = JobWatcher(client=None)  # type: ignore[arg-type]
    watcher._dispatch(_ending("job_e", "succeeded", None))
    watcher._dispatch(b"job_bare failed")
    assert watcher.knows("job_e", "t2")  # read_job then answers 404 from the record's tenant
    assert watcher.ending("job_e")[0].tenant == "t1"
    assert not watcher.knows("job_bare", "t1")


def test_a_published_deletion_forgets_the_job_and_wakes_its_waiters() -> None:
    """After "<id> deleted" (from any API process) the job is read again: 404 at once."""
    watcher = JobWatcher(client=None)  # type: ignore[arg-type]
    watcher.created("job_f", "t1")
    watcher._dispatch(_ending("job_g", "succeeded", b"rows"))
    waiting = watcher.register("job_f")
    watcher._dispatch(b"job_f deleted")
    watcher._dispatch(b"job_g deleted")
    assert waiting.is_set()
    assert not watcher.knows("job_f", "t1") and not watcher.knows("job_g", "t1")
    assert watcher.ending("job_g") is None
    assert watcher._ended_bytes == 0
