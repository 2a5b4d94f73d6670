"""Counting usage inside the scripts that do the work, so it is counted exactly when they act.

A worker's usage rides the script that ends its work (a batch's job transitions, a sync
request's release, a chunk's place in the ledger) and is added only when that script counts
the work as done for the first time: a chunk or batch scored again after its worker died is not
counted twice. The API's counts ride the submission and sync request scripts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from inferq.config import Settings
from inferq.usage import keys

# An entry is {day key, tenant, model, measure, amount, measure, amount...}. Entries are summed
# per field in the script and written once per field; rows scored also go to the tenant's
# running total. Amounts are whole numbers ('%d' keeps big ones out of Lua's exponent format).
# `usage_count` adds and writes one entry given as JSON ('' for none).
USAGE_LUA = """
local function usage_sums() return {days = {}, rows = {}} end
local function usage_add(sums, entry)
  local key, tenant, model = entry[1], entry[2], entry[3]
  local fields = sums.days[key] or {}
  sums.days[key] = fields
  for i = 4, #entry, 2 do
    local field, amount = model .. '|' .. entry[i], tonumber(entry[i + 1])
    fields[field] = (fields[field] or 0) + amount
    if entry[i] == 'rows_scored' then sums.rows[tenant] = (sums.rows[tenant] or 0) + amount end
  end
end
local function usage_flush(sums, ttl, totals)
  for key, fields in pairs(sums.days) do
    for field, amount in pairs(fields) do
      if amount ~= 0 then redis.call('HINCRBY', key, field, string.format('%d', amount)) end
    end
    redis.call('EXPIRE', key, ttl)
  end
  for tenant, rows in pairs(sums.rows) do
    if rows ~= 0 then redis.call('HINCRBY', totals, tenant, string.format('%d', rows)) end
  end
end
local function usage_count(entry, ttl, totals)
  if entry == '' then return end
  local sums = usage_sums()
  usage_add(sums, cjson.decode(entry))
  usage_flush(sums, ttl, totals)
end
"""

UsageEntry = list[str | int]
"""What a script adds for one piece of work: day key, tenant, model, then measure/amount pairs."""


@dataclass(frozen=True)
class UsageMeter:
    """Builds the usage entries the scripts add (none when metering is off)."""

    enabled: bool = True
    ttl_seconds: int = 400 * 86400

    @classmethod
    def for_settings(cls, settings: Settings) -> UsageMeter:
        """The meter the settings ask for (`usage_metering`, `usage_retention_days`)."""
        return cls(settings.usage_metering, settings.usage_retention_days * 86400)

    def entry(
        self, tenant: str, model: str, day: date | None = None, **amounts: int
    ) -> UsageEntry | None:
        """The entry adding `amounts` (measures of `keys.MEASURES`) to the tenant's model on
        `day` (today, UTC); None when metering is off."""
        if not self.enabled:
            return None
        entry: UsageEntry = [keys.day_key(tenant, day or keys.today()), tenant, model]
        for measure, amount in amounts.items():
            if amount:
                entry += [measure, int(amount)]
        return entry


def cpu_us(seconds: float) -> int:
    """CPU seconds as the whole microseconds usage counts."""
    return round(seconds * 1_000_000)


@dataclass
class BatchUsage:
    """What a batch of small jobs and sync requests used, for the script that ends it: an entry
    per job id, and [request id, entry] per sync request answered."""

    jobs: dict[str, UsageEntry]
    held: list[tuple[str, UsageEntry]]
    ttl_seconds: int = 400 * 86400
