"""Reading a tenant's usage over a range of days, by day or by model."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

import redis

from inferq.redis_client import decoded
from inferq.usage import keys

GroupBy = Literal["day", "model"]
#: The longest range one report reads (the days kept by default, and a little more).
MAX_DAYS = 731


@dataclass
class UsageLine:
    """The usage of one day or one model: each of `keys.MEASURES`."""

    group: str
    """The day (YYYY-MM-DD) or the model name."""
    counts: Counter[str] = field(default_factory=Counter)

    def as_dict(self, group_by: str | None = None) -> dict[str, str | int | float]:
        """The line as the API answers it (CPU time in seconds), named by `group_by`."""
        line: dict[str, str | int | float] = {group_by: self.group} if group_by else {}
        for measure in keys.MEASURES:
            if measure == "cpu_us":
                line["cpu_seconds"] = round(self.counts[measure] / 1_000_000, 6)
            else:
                line[measure] = self.counts[measure]
        return line


def days_between(first: date, last: date) -> list[date]:
    """Every day from `first` to `last`, both included."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def read_days(client: redis.Redis, tenant: str, days: list[date]) -> dict[date, Counter[str]]:
    """Each day's counts by field (``model|measure``), in one round trip."""
    pipe = client.pipeline(transaction=False)
    for day in days:
        pipe.hgetall(keys.day_key(tenant, day))
    found = {}
    for day, raw in zip(days, pipe.execute(), strict=True):
        found[day] = Counter({decoded(k): int(v) for k, v in raw.items()})
    return found


def report(
    client: redis.Redis, tenant: str, first: date, last: date, group_by: GroupBy
) -> tuple[list[UsageLine], UsageLine]:
    """The tenant's usage from `first` to `last`: a line per day (every day, zeros too) or
    per model used (by name), and the total."""
    by_day = read_days(client, tenant, days_between(first, last))
    total = UsageLine("total")
    lines: dict[str, UsageLine] = {}
    if group_by == "day":
        lines = {day.isoformat(): UsageLine(day.isoformat()) for day in by_day}
    for day, fields in by_day.items():
        for name, amount in fields.items():
            model, measure = keys.parse_field(name)
            group = day.isoformat() if group_by == "day" else model
            lines.setdefault(group, UsageLine(group)).counts[measure] += amount
            total.counts[measure] += amount
    return [lines[group] for group in sorted(lines)], total


def tenant_rows(client: redis.Redis) -> dict[str, int]:
    """Rows scored per tenant since metering began."""
    raw = client.hgetall(keys.TENANT_ROWS)
    return {decoded(tenant): int(rows) for tenant, rows in raw.items()}
