"""The usage of a batch of small jobs and sync requests, as the script that ends it adds it."""

from __future__ import annotations

from inferq.jobs.pending import ClaimedJob
from inferq.jobs.store import InlineOutcome
from inferq.usage.counting import BatchUsage, UsageMeter, cpu_us


def batch_usage(
    meter: UsageMeter, claimed: list[ClaimedJob], outcomes: list[InlineOutcome]
) -> BatchUsage:
    """Each outcome's rows scored (or failed: a job that fails fails all its rows) and CPU
    time, for its tenant and model today; empty when metering is off."""
    usage = BatchUsage({}, [], meter.ttl_seconds)
    held = {job.record.id: job for job in claimed}
    for outcome in outcomes:
        record = held[outcome.job_id].record
        entry = meter.entry(
            record.tenant,
            record.model_name,
            rows_scored=outcome.rows,
            rows_failed=(record.rows_total or 0) if outcome.error is not None else 0,
            cpu_us=cpu_us(outcome.cpu_seconds),
        )
        if entry is None:
            return usage
        if held[outcome.job_id].request is not None:
            usage.held.append((outcome.job_id, entry))
        else:
            usage.jobs[outcome.job_id] = entry
    return usage
