"""Answering the synchronous requests a batcher scored along with small jobs (issue 19)."""

from __future__ import annotations

from inferq.jobs.pending import ClaimedJob
from inferq.jobs.store import InlineOutcome
from inferq.jobs.sync import answer_message, refusal_message


def split_outcomes(
    claimed: list[ClaimedJob], outcomes: list[InlineOutcome]
) -> tuple[list[InlineOutcome], dict[str, bytes]]:
    """The jobs' outcomes (to end in the job store), and the sync requests' answers by request
    id (to publish: `PendingJobs.answer_write`)."""
    requests = {job.record.id for job in claimed if job.request is not None}
    if not requests:
        return outcomes, {}
    jobs: list[InlineOutcome] = []
    answers: dict[str, bytes] = {}
    for outcome in outcomes:
        if outcome.job_id not in requests:
            jobs.append(outcome)
        elif outcome.error is not None:
            answers[outcome.job_id] = refusal_message(outcome.job_id, outcome.error)
        else:
            answers[outcome.job_id] = answer_message(outcome.job_id, outcome.result)
    return jobs, answers
