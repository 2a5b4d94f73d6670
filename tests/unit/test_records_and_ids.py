"""Job records, ids and model references."""

from __future__ import annotations

import time

from inferq.ids import new_job_id, ulid_millis
from inferq.jobs.record import JobRecord, JobStatus
from models.registry import parse_ref


def test_job_ids_sort_by_creation_and_encode_their_time() -> None:
    """Later ids sort after earlier ones and carry their creation millisecond."""
    first = new_job_id()
    time.sleep(0.002)
    second = new_job_id()
    assert first < second and first.startswith("job_") and len(first) == 30
    assert abs(ulid_millis(second) - time.time() * 1000) < 1000


def test_record_round_trips_through_a_redis_hash() -> None:
    """Every field survives encoding as strings and decoding."""
    record = JobRecord(
        id=new_job_id(),
        tenant="acme",
        model_name="iris",
        model_version=3,
        created_at="2026-01-01T00:00:00.000Z",
        status=JobStatus.RUNNING,
        outputs=["prediction", "probabilities"],
        passthrough=["id"],
        metadata={"a": [1, 2]},
        rows_total=10,
        rows_done=4,
        max_error_rate=0.5,
        error={"code": "x", "message": "y"},
        webhook={"url": "https://example.com/hook"},
        chunks_total=3,
        contributions_method="approximate",
        deadline_at=1767225600.25,
        expires_at=1767312000.5,
        attempts=2,
        model_alias="prod",
        canary=True,
        shadow_version=4,
    )
    encoded = {k.encode(): v.encode() for k, v in record.to_hash().items()}
    assert JobRecord.from_hash(encoded) == record
    assert "finished_at" not in record.to_hash()
    # Fields the record does not know (the claim's `owner`) are left; str keys read the same.
    with_owner = {**record.to_hash(), "owner": "worker-1"}
    assert JobRecord.from_hash(with_owner) == record
    assert (
        JobRecord.from_hash(
            {"id": "j", "tenant": "t", "model_name": "m", "model_version": "1", "created_at": "c"}
        ).canary
        is False
    )


def test_model_references() -> None:
    """`name`, `name@3` and `name@alias` split at the @."""
    assert parse_ref("iris") == ("iris", None)
    assert parse_ref("iris@3") == ("iris", "3")
    assert parse_ref("iris@production") == ("iris", "production")
