"""Comparing a primary's and a shadow's results row by row, and summing the aggregates."""

from __future__ import annotations

from inferq.comparison import DIFF_EDGES, WORST_ROWS, compare_tables


def test_a_classifier_comparison_counts_agreement_confusion_and_probability_differences() -> None:
    """Labels agree on 2 of 3 rows; the confusion table and per-class differences follow."""
    primary = {
        "columns": ["id", "prediction", "proba_a", "proba_b"],
        "data": [[1, "a", 0.9, 0.1], [2, "b", 0.2, 0.8], [3, "a", 0.6, 0.4]],
    }
    shadow = {"columns": ["id", "prediction", "proba_a", "proba_b"],
              "data": [[1, "a", 0.7, 0.3], [2, "b", 0.2, 0.8], [3, "b", 0.4, 0.6]]}  # fmt: skip
    found = compare_tables(primary, shadow, classifier=True, job_id="job_1")
    assert (found.rows, found.agree) == (3, 2)
    assert found.confusion == {("a", "a"): 1, ("b", "b"): 1, ("a", "b"): 1}
    assert found.proba_rows == 3
    assert abs(found.proba_diff["a"] - 0.4) < 1e-12 and abs(found.proba_diff["b"] - 0.4) < 1e-12
    assert [row for _, _, row in found.worst] == [2, 0]  # the disagreement first, then 0.2 apart


def test_a_regressor_comparison_keeps_the_differences_and_the_worst_rows() -> None:
    """Absolute differences are summed and binned; only the 20 largest rows are kept."""
    primary = {"columns": ["prediction"], "data": [[float(i)] for i in range(50)]}
    shadow = {"columns": ["prediction"], "data": [[float(i) + i / 10] for i in range(50)]}
    found = compare_tables(primary, shadow, classifier=False)
    assert abs(found.diff_sum - sum(i / 10 for i in range(50))) < 1e-9
    assert sum(found.diff_bins.values()) == 50
    assert len(found.worst) == WORST_ROWS and found.worst[0][2] == 49
    assert DIFF_EDGES[0] < 1e-5 < 1e5 < DIFF_EDGES[-1]


def test_a_batch_adds_its_jobs_into_one_comparison() -> None:
    """Two jobs' comparisons add up; the worst rows keep their job ids."""
    one = {"columns": ["prediction"], "data": [["a"], ["b"]]}
    other = {"columns": ["prediction"], "data": [["a"], ["a"]]}
    total = compare_tables(one, other, True, "job_1")
    total.add(compare_tables(other, other, True, "job_2"))
    assert (total.rows, total.agree) == (4, 3)
    assert total.worst == [(1.0, "job_1", 1)]
