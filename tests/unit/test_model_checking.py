"""The check process: loads and tries artifacts so their failures never reach the caller."""

from __future__ import annotations

import os
import pickle

from models.checking import CheckFailed, CheckLimits, CheckRequest, check_artifact, check_artifacts
from tests.model_fixtures import (
    ExitOnLoad,
    HogOnLoad,
    SleepOnLoad,
    categorical_pipeline,
    skops_bytes,
)

LIMITS = CheckLimits(timeout_seconds=60, memory_mb=2048)


def _failure(request: CheckRequest, limits: CheckLimits = LIMITS) -> CheckFailed:
    outcome = check_artifacts([request], limits)[0]
    assert isinstance(outcome, CheckFailed), outcome
    return outcome


def test_a_good_pipeline_passes_and_its_schema_comes_back() -> None:
    """A categorical pipeline predicts its sample row; the schema names the string column."""
    schema = check_artifact(CheckRequest(skops_bytes(categorical_pipeline()), "skops"), LIMITS)
    assert [(f.name, f.type) for f in schema.features] == [("plan", "string"), ("age", "number")]
    assert schema.classes == ["no", "yes"]


def test_an_artifact_that_kills_its_process_fails_the_check_only() -> None:
    """os._exit during unpickling ends the check process, not ours."""
    failure = _failure(CheckRequest(pickle.dumps(ExitOnLoad()), "pickle"))
    assert "ended with code 3" in failure.msg and failure.loc == "file"
    assert os.getpid() > 0  # we are still here to assert


def test_an_artifact_that_hangs_is_stopped_at_the_time_limit() -> None:
    """A load that sleeps past the limit is a failed check."""
    limits = CheckLimits(timeout_seconds=8, memory_mb=2048)
    failure = _failure(CheckRequest(pickle.dumps(SleepOnLoad()), "pickle"), limits)
    assert "took over 8" in failure.msg


def test_an_artifact_that_asks_for_too_much_memory_fails() -> None:
    """Allocating past the memory cap fails the check instead of swapping the machine."""
    failure = _failure(CheckRequest(pickle.dumps(HogOnLoad()), "pickle"))
    assert "MemoryError" in failure.msg or "cannot load" in failure.msg


def test_an_unfitted_model_or_wrong_feature_names_fail() -> None:
    """A model that cannot predict its sample row is refused with the reason."""
    from sklearn.linear_model import LogisticRegression

    unfitted = skops_bytes(LogisticRegression())
    assert _failure(CheckRequest(unfitted, "skops")).loc == "feature_names"
    named = _failure(CheckRequest(unfitted, "skops", feature_names=["a"]))
    assert "classes_" in named.msg  # describe() needs a fitted classifier
    renamed = CheckRequest(skops_bytes(categorical_pipeline()), "skops", feature_names=["x", "y"])
    assert "predicting a sample row failed" in _failure(renamed).msg
