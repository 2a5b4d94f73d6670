"""The benchmarks' arithmetic (percentiles, the peer's best setting, the targets table) and the
peer's copy of the model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from bench.measures import Measure, Target, best, mean_measure, peer_targets, percentile_ms
from bench.mlserver_peer import without_feature_names


def test_percentiles_are_in_milliseconds_and_interpolated() -> None:
    """p50 of 1..5 ms is 3 ms; p99 lies between the two slowest, close to the slowest."""
    seconds = [0.001, 0.002, 0.003, 0.004, 0.005]
    assert percentile_ms(seconds, 50) == pytest.approx(3.0)
    assert percentile_ms(seconds, 99) == pytest.approx(4.96)
    assert percentile_ms(list(reversed(seconds)), 50) == pytest.approx(3.0)


def test_a_percentile_of_nothing_is_an_error() -> None:
    """An empty run has no latency to report, rather than a made-up zero."""
    with pytest.raises(ValueError):
        percentile_ms([], 50)


def test_the_peer_stands_for_its_highest_throughput_setting() -> None:
    """Of the settings tried, the one with the most requests per second is kept."""
    tried = [Measure("pw0", 800, 8, 17), Measure("pw1", 950, 9, 20), Measure("pw2", 700, 7, 15)]
    assert best(tried).name == "pw1"


def test_a_throughput_target_is_met_at_the_bound_and_missed_below_it() -> None:
    """`>= 1.5x` holds at exactly 1.5x and fails just under it."""
    assert Target("t", 1.5, 1.5).met
    assert not Target("t", 1.49, 1.5).met
    assert "NOT met" in Target("t", 1.49, 1.5).line()


def test_a_latency_target_is_met_at_or_under_the_bound() -> None:
    """`<= 1x` holds when inferq's p50 is no slower than the peer's, and fails when slower."""
    assert Target("p50", 1.0, 1.0, at_most=True).met
    assert not Target("p50", 1.01, 1.0, at_most=True).met
    assert "<= 1x" in Target("p50", 0.8, 1.0, at_most=True).line()


def test_the_peer_targets_are_the_ratios_of_the_issue_table() -> None:
    """Each row divides the right pair of measures; the p50 row compares latencies."""
    submit_poll = Measure("submit-and-poll", 900, 6.0, 12.0)
    one_request = Measure("one-request", 1000, 5.0, 10.0)
    peer = Measure("MLServer", 600, 8.0, 17.0)
    targets = {target.name: target for target in peer_targets(submit_poll, one_request, 720, peer)}
    assert targets["submit-and-poll / one-request"].value == pytest.approx(0.9)
    assert targets["submit-and-poll / in-process per row"].value == pytest.approx(1.25)
    assert targets["submit-and-poll / MLServer"].value == pytest.approx(1.5)
    assert targets["one-request / MLServer"].value == pytest.approx(1000 / 600)
    p50 = targets["light-load p50, submit-and-poll / MLServer"]
    assert p50.value == pytest.approx(0.75) and p50.at_most and p50.met
    assert all(target.met for target in targets.values())


def test_the_peer_copy_of_the_model_scores_plain_arrays_alike_without_warnings() -> None:
    """MLServer gets the same trees without feature names: same predictions, no warning per
    call (pytest turns warnings into errors), and the original model keeps its names."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(400, 3)), columns=["a", "b", "c"])
    model = HistGradientBoostingClassifier(max_iter=10).fit(frame, frame["a"] > 0)
    plain = without_feature_names(model)
    assert (plain.predict(frame.to_numpy()) == model.predict(frame)).all()
    assert list(model.feature_names_in_) == ["a", "b", "c"]


def test_v2_targets_compare_inferqs_v2_infer_with_the_peer() -> None:
    """v2 infer through inferq is held to 1.5x the peer's throughput and at most its p99, under
    load and at light load; many-row requests to 1.5x its rows/s."""
    from bench.measures import Measure, big_v2_targets, v2_targets

    peer = Measure("MLServer", 800.0, 8.0, 20.0, unit="req/s", loaded_p99_ms=40.0)
    fast = v2_targets(
        Measure("inferq v2 infer", 1300.0, 5.0, 15.0, unit="req/s", loaded_p99_ms=30.0), peer
    )
    slow = v2_targets(
        Measure("inferq v2 infer", 1100.0, 5.0, 25.0, unit="req/s", loaded_p99_ms=50.0), peer
    )
    assert [t.met for t in fast] == [True, True, True]
    assert [t.met for t in slow] == [False, False, False]
    assert abs(fast[0].value - 1.625) < 1e-9 and abs(fast[1].value - 0.75) < 1e-9
    big_peer = Measure("MLServer", 50.0, 20.0, 30.0, unit="req/s", rows=1000)
    (big,) = big_v2_targets(Measure("inferq", 60.0, 15.0, 25.0, unit="req/s", rows=1000), big_peer)
    assert abs(big.value - 1.2) < 1e-9 and not big.met and "1,000-row" in big.name
    assert "60,000 rows/s" in Measure("inferq", 60.0, 15.0, 25.0, rows=1000).line()


def test_rounds_of_a_measure_are_averaged_field_by_field() -> None:
    """Two rounds give the mean rate and the mean latencies; one round is itself; none is an
    error rather than a made-up measure."""
    first = Measure("inferq", 1000, 4.0, 8.0, loaded_p99_ms=40.0)
    second = Measure("inferq, again", 1400, 6.0, 12.0, loaded_p99_ms=60.0)
    mean = mean_measure([first, second])
    assert (mean.name, mean.per_second, mean.p50_ms) == ("inferq", 1200, 5.0)
    assert (mean.p99_ms, mean.loaded_p99_ms, mean.unit) == (10.0, 50.0, "jobs/s")
    assert mean_measure([first]) is first
    with pytest.raises(ValueError):
        mean_measure([])
