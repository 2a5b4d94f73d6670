"""The canary choice: a seeded hash sends the asked share of jobs to the canary."""

from __future__ import annotations

from inferq.ids import new_job_id
from inferq.schema import ModelSchema
from models.registry import ModelVersion
from models.routing import Route, Split, canary_bucket


def version(number: int) -> ModelVersion:
    """A version record (never stored) with a one-feature schema."""
    schema = ModelSchema.from_dict(
        {"features": [{"name": "x", "type": "number"}], "task": "regression"}
    )
    return ModelVersion("m", number, "skops", "k", schema, "0", 1, "now")


def test_ten_thousand_one_row_jobs_at_ten_percent_send_ten_plus_or_minus_one_and_a_half() -> None:
    """Over 10,000 job ids at 10%, the canary's share is within 10 +- 1.5%."""
    route = Route(version(3), version(4), Split(canary=4, percent=10), "production")
    chosen = [route.choose(new_job_id()) for _ in range(10_000)]
    share = sum(choice.canary for choice in chosen) / len(chosen)
    assert 0.085 <= share <= 0.115, share
    assert {c.model.version for c in chosen if c.canary} == {4}
    assert {c.model.version for c in chosen if not c.canary} == {3}


def test_the_same_seed_always_gets_the_same_version() -> None:
    """An Idempotency-Key's retry lands in the same bucket, so on the same version."""
    route = Route(version(3), version(4), Split(canary=4, percent=50), "production")
    for seed in (f"key-{i}" for i in range(200)):
        assert route.choose(seed) == route.choose(seed)
    assert canary_bucket("abc") == canary_bucket("abc")


def test_zero_and_one_hundred_percent_send_none_and_all() -> None:
    """0% never picks the canary; 100% always does."""
    none = Route(version(3), version(4), Split(canary=4, percent=0), "production")
    every = Route(version(3), version(4), Split(canary=4, percent=100), "production")
    seeds = [new_job_id() for _ in range(500)]
    assert not any(none.choose(s).canary for s in seeds)
    assert all(every.choose(s).canary for s in seeds)


def test_a_shadow_goes_with_jobs_on_the_primary_only() -> None:
    """A job sent to the canary carries no shadow; one on the alias's version does."""
    route = Route(version(3), version(4), Split(canary=4, percent=50, shadow=5), "production")
    choices = [route.choose(new_job_id()) for _ in range(200)]
    assert {c.shadow for c in choices if c.canary} == {None}
    assert {c.shadow for c in choices if not c.canary} == {5}


def test_a_split_reads_back_as_stored() -> None:
    """The stored form keeps the canary, its share (to 0.01%) and the shadow."""
    for split in (Split(4, 12.5, 7), Split(None, 0, 7), Split(4, 100, None)):
        assert Split.decode(split.encode()) == split
    assert Split.decode(b"") is None
