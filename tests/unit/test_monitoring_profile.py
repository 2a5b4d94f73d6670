"""Reference profiles, serving counts and PSI: the pure arithmetic of model monitoring."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from inferq.monitoring.profile import category_profile, numeric_profile, psi
from inferq.monitoring.reference import PREDICTION, build_reference
from inferq.monitoring.report import column_report
from inferq.monitoring.serving import _slots, fold_counts, layout_of
from inferq.schema import Feature, ModelSchema
from workers.monitoring import _HeldRows

SCHEMA = ModelSchema([Feature("x"), Feature("plan", "string")], task="regression")


def reference_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    plans = rng.choice(["basic", "pro", "team"], size=rows, p=[0.5, 0.3, 0.2])
    return pd.DataFrame({"x": rng.normal(size=rows), "plan": plans})


def test_numeric_profile_has_ten_quantile_bins_of_equal_counts() -> None:
    """Quantile edges split the sample into ten bins of about a tenth each."""
    profile = numeric_profile(np.random.default_rng(1).normal(size=10_000), 10)
    assert len(profile["edges"]) == 11 and len(profile["counts"]) == 10
    assert all(900 <= c <= 1100 for c in profile["counts"])
    assert profile["min"] == profile["edges"][0] and profile["max"] == profile["edges"][-1]
    assert profile["missing_rate"] == 0.0


def test_a_constant_or_missing_column_still_profiles() -> None:
    """A constant column is one bin; missing values count in the missing rate only."""
    constant = numeric_profile([3.0] * 5 + [float("nan")] * 5, 10)
    assert constant["counts"] == [5] and constant["missing_rate"] == 0.5


def test_categories_keep_the_top_fifty_and_an_other_bin() -> None:
    """Sixty categories: fifty by name, the rest in `other`; all sixty are known."""
    values = [f"c{i:02d}" for i in range(60) for _ in range(60 - i)]
    profile = category_profile(values)
    assert len(profile["categories"]) == 50 and len(profile["counts"]) == 51
    assert profile["counts"][-1] == sum(60 - i for i in range(50, 60))
    assert len(profile["known"]) == 60


def test_psi_is_zero_for_equal_shares_and_large_for_a_shift() -> None:
    """PSI of identical shares is 0; an empty bin does not make it infinite."""
    assert psi([10, 20, 30], [20, 40, 60]) == 0.0
    shifted = psi([100, 100, 100, 100], [0, 0, 200, 200])
    assert shifted is not None and 1.0 < shifted < 100
    assert psi([1, 2], [0, 0]) is None


def test_serving_counts_give_small_psi_for_the_same_distribution_and_large_for_a_shift() -> None:
    """Traffic like the reference scores PSI < 0.05; shifted by one sd, PSI > 0.25."""
    ref = build_reference(reference_frame(10_000), SCHEMA, "file", 10)
    same = reference_frame(10_000, seed=2)
    shifted = same.assign(x=same["x"] + 1.0)
    for frame, check in ((same, lambda v: v < 0.05), (shifted, lambda v: v > 0.25)):
        counts = Counter(fold_counts(ref, {c: frame[c].to_numpy() for c in frame}, None))
        report = column_report(ref.features["x"], "x", counts)
        assert check(report["psi"]), report["psi"]
        assert column_report(ref.features["plan"], "plan", counts)["psi"] < 0.05


def test_quality_rates_count_missing_out_of_range_and_unseen_values() -> None:
    """Missing numbers, numbers beyond the reference's range and new categories are rated."""
    ref = build_reference(reference_frame(1_000), SCHEMA, "file", 10)
    frame = {
        "x": np.array([np.nan, 1e6, -1e6, 0.0]),
        "plan": np.array([None, "enterprise", "basic", "basic"], dtype=object),
    }
    counts = Counter(fold_counts(ref, frame, np.array([1.0, 2.0, 3.0, 4.0])))
    assert counts["rows"] == 4
    x = column_report(ref.features["x"], "x", counts)
    assert x["missing_rate"] == 0.25 and x["out_of_range_rate"] == 0.5
    plan = column_report(ref.features["plan"], "plan", counts)
    assert plan["missing_rate"] == 0.25 and plan["unseen_rate"] == 0.25
    assert not any(k.startswith(PREDICTION) for k in counts), "no prediction profile yet"


def test_a_big_chunk_is_binned_from_a_sample_and_keeps_its_row_count() -> None:
    """100,000 rows: `rows` is exact and each bin's share stays within half a percent."""
    ref = build_reference(reference_frame(10_000), SCHEMA, "file", 10)
    frame = reference_frame(100_000, seed=3)
    counts = Counter(fold_counts(ref, {c: frame[c].to_numpy() for c in frame}, None))
    assert counts["rows"] == 100_000
    report = column_report(ref.features["x"], "x", counts)
    exact = np.histogram(frame["x"].clip(-9, 9), [-10, *ref.features["x"]["edges"][1:-1], 10])[0]
    shares = np.array(report["histogram"]["window"]) / 100_000
    assert np.abs(shares - exact / 100_000).max() < 0.005
    assert report["psi"] < 0.01


def test_numeric_columns_folded_together_count_as_each_column_alone() -> None:
    """The one-matrix fold of many numeric columns gives each column's own bins, missing and
    out-of-range slots, beside a categorical column and a constant one."""
    rng = np.random.default_rng(5)
    names = [f"n{i}" for i in range(7)]
    schema = ModelSchema(
        [Feature(n) for n in names] + [Feature("flat"), Feature("plan", "string")], "regression"
    )
    base = pd.DataFrame(rng.normal(size=(2_000, 7)) * np.arange(1, 8), columns=names)
    base = base.assign(flat=np.nan, plan=reference_frame(2_000)["plan"])
    ref = build_reference(base, schema, "file", 10)
    batch = pd.DataFrame(rng.normal(size=(999, 7)) * 3, columns=names)
    batch[rng.random(batch.shape) < 0.1] = np.nan
    batch = batch.assign(flat=1.0, plan=reference_frame(999, seed=6)["plan"])
    columns = {c: batch[c].to_numpy() for c in batch}
    layout = layout_of(ref)
    expected = np.zeros(len(layout.fields), dtype=np.int64)
    for column in layout.columns:
        slots = _slots(column, columns[column.name])
        expected[column.start : column.start + len(slots)] += slots
    expected[-1] = 999
    folded = layout.fold({**columns, PREDICTION: None}, 999)
    assert np.array_equal(folded, expected)
    assert folded[layout.fields.index("n0|o")] > 0, "values beyond the reference's range"


def test_held_batches_join_into_one_block_of_columns_and_predictions() -> None:
    """Batches held for a provisional sample are sent as one: numbers end to end as one
    array, category tuples as one list, predictions likewise (None stays None)."""
    held = _HeldRows(loaded=None, since=0.0)  # type: ignore[arg-type]
    held.add({"x": np.array([1.0, np.nan]), "plan": ("a", "b")}, np.array([0, 1]))
    held.add({"x": np.array([3.0]), "plan": ("c",)}, np.array([1]))
    columns, predictions = held.joined()
    assert held.rows == 3
    assert np.array_equal(columns["x"], [1.0, np.nan, 3.0], equal_nan=True)
    assert columns["plan"] == ["a", "b", "c"]
    assert predictions.tolist() == [0, 1, 1]
    bare = _HeldRows(loaded=None, since=0.0)  # type: ignore[arg-type]
    bare.add({"x": np.array([1.0])}, None)
    bare.add({"x": np.array([2.0])}, None)
    assert bare.joined()[1] is None and bare.joined()[0]["x"].tolist() == [1.0, 2.0]
