"""Comparing a shadow version with its alias's version, counted as shadow work finishes.

Each scored shadow batch adds its rows to per-minute aggregates in Redis (a hash of counts and
sums, and a sorted set of the worst rows, kept to `WORST_ROWS`), keyed by the model, the alias
and the two versions. A report sums the minutes of its window (`1h`, `24h`, `7d`, as
monitoring does); no result file is read again.
"""

from __future__ import annotations

import bisect
import heapq
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis

from inferq.redis_client import Write

PREFIX = "inferq:compare"
WORST_ROWS = 20
BUCKET_SECONDS = 60
#: Kept a little past the longest window.
TTL_SECONDS = 7 * 86_400 + 3600
WINDOWS = {"1h": 3600, "24h": 86_400, "7d": 7 * 86_400}
#: Upper edges of the absolute-difference histogram (for the p99 of a regressor's difference):
#: four per decade from 1e-6 to 1e6.
DIFF_EDGES = tuple(10 ** (k / 4) for k in range(-24, 25))


def bucket_key(name: str, alias: str, primary: int, shadow: int, minute: int) -> str:
    """One minute's counts of the comparison of `shadow` against `primary` on an alias."""
    return f"{PREFIX}:{name}:{alias}:{primary}:{shadow}:m:{minute}"


def worst_key(name: str, alias: str, primary: int, shadow: int, minute: int) -> str:
    """One minute's worst rows: member ``{"job", "row"}`` JSON, score the difference."""
    return f"{PREFIX}:{name}:{alias}:{primary}:{shadow}:w:{minute}"


@dataclass
class RowComparison:
    """What comparing a primary's and a shadow's results for the same rows found."""

    rows: int = 0
    agree: int = 0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    proba_rows: int = 0
    proba_diff: dict[str, float] = field(default_factory=dict)
    """Per class, the sum over rows of |primary probability - shadow probability|."""
    diff_sum: float = 0.0
    diff_bins: Counter[int] = field(default_factory=Counter)
    worst: list[tuple[float, str, int]] = field(default_factory=list)
    """(difference, job id, row) of the rows that differ most, largest first."""

    def add(self, other: RowComparison) -> None:
        """Count `other`'s rows too (a batch's jobs are written as one)."""
        self.rows += other.rows
        self.agree += other.agree
        self.confusion.update(other.confusion)
        self.proba_rows += other.proba_rows
        for label, total in other.proba_diff.items():
            self.proba_diff[label] = self.proba_diff.get(label, 0.0) + total
        self.diff_sum += other.diff_sum
        self.diff_bins.update(other.diff_bins)
        self.worst = heapq.nlargest(WORST_ROWS, self.worst + other.worst)


def _label(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def compare_tables(
    primary: dict[str, list],
    shadow: dict[str, list],
    classifier: bool,
    job_id: str = "",
    row_offset: int = 0,
) -> RowComparison:
    """Compare two columns/data tables of the same rows (as results store them) of one job;
    its rows are numbered from `row_offset`."""
    found = RowComparison(rows=min(len(primary["data"]), len(shadow["data"])))
    p_cols, s_cols = primary["columns"], shadow["columns"]
    probas = [c for c in p_cols if c.startswith("proba_") and c in s_cols]
    has_prediction = "prediction" in p_cols and "prediction" in s_cols
    p_pred = p_cols.index("prediction") if has_prediction else -1
    s_pred = s_cols.index("prediction") if has_prediction else -1
    scores: list[tuple[float, str, int]] = []
    for row, (p_row, s_row) in enumerate(zip(primary["data"], shadow["data"], strict=False)):
        score = 0.0
        if classifier and has_prediction:
            p_label, s_label = _label(p_row[p_pred]), _label(s_row[s_pred])
            found.confusion[(p_label, s_label)] += 1
            found.agree += p_label == s_label
            score = float(p_label != s_label)
        if classifier and probas:
            found.proba_rows += 1
            for column in probas:
                diff = abs(float(p_row[p_cols.index(column)]) - float(s_row[s_cols.index(column)]))
                found.proba_diff[column[6:]] = found.proba_diff.get(column[6:], 0.0) + diff
                score = max(score, diff)
        if not classifier and has_prediction:
            diff = abs(float(p_row[p_pred]) - float(s_row[s_pred]))
            found.diff_sum += diff
            found.diff_bins[bisect.bisect_left(DIFF_EDGES, diff)] += 1
            score = diff
        if score > 0 and not math.isnan(score):
            scores.append((score, job_id, row + row_offset))
    found.worst = heapq.nlargest(WORST_ROWS, scores)
    return found


def comparison_write(
    name: str, alias: str, versions: tuple[int, int], found: RowComparison, now: float | None = None
) -> Write:
    """Adding a comparison (of a batch of jobs, or a chunk) to this minute's aggregates, as a
    write of a few commands whatever the number of jobs."""
    minute = int((now or time.time()) // BUCKET_SECONDS)
    counts = bucket_key(name, alias, *versions, minute)
    worst = worst_key(name, alias, *versions, minute)

    def write(pipe: Any) -> None:
        pipe.hincrby(counts, "rows", found.rows)
        pipe.hincrby(counts, "agree", found.agree)
        for (p_label, s_label), seen in found.confusion.items():
            pipe.hincrby(counts, f"c|{p_label}|{s_label}", seen)
        if found.proba_rows:
            pipe.hincrby(counts, "proba_rows", found.proba_rows)
            for label, total in found.proba_diff.items():
                pipe.hincrbyfloat(counts, f"pd|{label}", total)
        if found.diff_bins:
            pipe.hincrbyfloat(counts, "diff_sum", found.diff_sum)
            for index, seen in found.diff_bins.items():
                pipe.hincrby(counts, f"h|{index}", seen)
        pipe.expire(counts, TTL_SECONDS)
        if found.worst:
            members = {
                orjson.dumps({"job": job_id, "row": row}).decode(): score
                for score, job_id, row in found.worst
            }
            pipe.zadd(worst, members)
            pipe.zremrangebyrank(worst, 0, -WORST_ROWS - 1)
            pipe.expire(worst, TTL_SECONDS)

    return write


def comparison_report(
    client: redis.Redis,
    name: str,
    alias: str,
    versions: tuple[int, int],
    classifier: bool,
    window: str,
    now: float | None = None,
) -> dict[str, Any]:
    """The comparison over the window's minutes: rows, and label agreement, a confusion table
    and per-class probability differences (classifier) or mean and p99 absolute difference
    (regressor), and the worst rows."""
    last = int((now or time.time()) // BUCKET_SECONDS)
    minutes = range(last - WINDOWS[window] // BUCKET_SECONDS + 1, last + 1)
    pipe = client.pipeline(transaction=False)
    for minute in minutes:
        pipe.hgetall(bucket_key(name, alias, *versions, minute))
        pipe.zrange(worst_key(name, alias, *versions, minute), 0, -1, withscores=True)
    replies = pipe.execute()
    totals: Counter[str] = Counter()
    sums: dict[str, float] = {}
    worst: list[tuple[float, str]] = []
    for counts, members in zip(replies[::2], replies[1::2], strict=True):
        for raw_field, raw_value in counts.items():
            key = raw_field.decode()
            if key.startswith("pd|") or key == "diff_sum":
                sums[key] = sums.get(key, 0.0) + float(raw_value)
            else:
                totals[key] += int(raw_value)
        worst += [(float(score), member.decode()) for member, score in members]
    rows = totals.get("rows", 0)
    report: dict[str, Any] = {"rows_compared": rows}
    if classifier:
        report.update(_classifier_report(totals, sums, rows))
    else:
        report.update(_regressor_report(totals, sums, rows))
    report["worst_rows"] = [
        {**orjson.loads(member), "difference": score}
        for score, member in heapq.nlargest(WORST_ROWS, worst)
    ]
    return report


def _classifier_report(totals: Counter[str], sums: dict[str, float], rows: int) -> dict[str, Any]:
    confusion: dict[str, dict[str, int]] = {}
    for key, seen in totals.items():
        if key.startswith("c|"):
            primary, shadow = key[2:].split("|", 1)
            confusion.setdefault(primary, {})[shadow] = seen
    proba_rows = totals.get("proba_rows", 0)
    return {
        "rows_agreeing": totals.get("agree", 0),
        "agreement": totals.get("agree", 0) / rows if rows else None,
        "confusion": confusion,
        "probability_rows": proba_rows,
        "mean_abs_probability_difference": {
            key[3:]: total / proba_rows for key, total in sums.items() if key.startswith("pd|")
        }
        if proba_rows
        else None,
    }


def _regressor_report(totals: Counter[str], sums: dict[str, float], rows: int) -> dict[str, Any]:
    bins = sorted((int(key[2:]), seen) for key, seen in totals.items() if key.startswith("h|"))
    p99 = None
    running = 0
    for index, seen in bins:
        running += seen
        if running >= 0.99 * rows:
            p99 = DIFF_EDGES[index] if index < len(DIFF_EDGES) else math.inf
            break
    return {
        "mean_abs_difference": sums.get("diff_sum", 0.0) / rows if rows else None,
        "p99_abs_difference": p99,
    }
