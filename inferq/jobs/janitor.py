"""Periodic care of job state: lost workers, passed deadlines and the end of retention."""

from __future__ import annotations

import contextlib
import logging
import time

from inferq.config import Settings
from inferq.files import layout
from inferq.jobs import keys
from inferq.jobs.intake_lease import IntakeLeases
from inferq.jobs.record import JobStatus
from inferq.jobs.store import JobStore
from inferq.storage import Storage
from inferq.timefmt import now_rfc3339

log = logging.getLogger(__name__)
_UNENDED = [JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.CANCELLING]


class Janitor:
    """Runs the sweeps; any worker process may run them, each due item is taken once."""

    def __init__(self, store: JobStore, storage: Storage, settings: Settings) -> None:
        self.store = store
        self.storage = storage
        self.settings = settings
        self.intakes = IntakeLeases(store.redis, settings.intake_lease_seconds)
        self._next = 0.0

    def sweep_if_due(self) -> None:
        """Sweep when `sweep_seconds` have passed since the last sweep of this process."""
        now = time.monotonic()
        if now >= self._next:
            self._next = now + self.settings.sweep_seconds
            self.sweep()

    def sweep(self) -> None:
        """Requeue jobs of lost workers, fail jobs whose intake or deadline passed, expire old
        jobs and forget expired ones at the end of their grace period."""
        finished = now_rfc3339()
        self.store.pending.requeue_expired(self.settings.max_attempts)
        for job_id in self.intakes.take_lapsed():
            self.fail_interrupted(job_id, finished)
        now = time.time()
        for job_id in self.store.take_due(keys.DEADLINES_ZSET, now):
            if self.store.transition(
                job_id,
                _UNENDED,
                JobStatus.FAILED,
                finished_at=finished,
                error={"code": "deadline_exceeded", "message": "the job passed its deadline"},
            ):
                log.info("job %s failed: deadline passed", job_id)
        expiring = self.store.take_due(keys.EXPIRY_ZSET, now)
        if expiring:
            self.expire(expiring)
        for member in self.store.take_due(keys.FORGET_ZSET, now):
            job_id, _, tenant = member.partition(" ")
            self.store.delete(job_id, tenant)

    def fail_interrupted(self, job_id: str, finished: str) -> None:
        """Fail a job whose intake lease ran out (its API process died while taking it in),
        unless it has ended, and remove its files as an aborted upload does."""
        reason = "the API process taking this job in stopped before it had stored and queued it all"
        if self.store.transition(
            job_id,
            _UNENDED,
            JobStatus.FAILED,
            finished_at=finished,
            error={"code": "intake_interrupted", "message": reason},
        ):
            log.warning("job %s failed: its intake was interrupted", job_id)
            with contextlib.suppress(OSError):  # retention removes what is left
                self.storage.delete_prefix(layout.job_prefix(job_id))

    def expire(self, job_ids: list[str]) -> None:
        """Delete jobs' rows and files; each record stays a while, answering `expired`, and is
        then forgotten with its place in the tenant's listing (so nothing of it is left). A JSON
        job keeps no files: its expiry costs no storage call."""
        forget_at = time.time() + self.settings.record_grace_seconds
        for job_id in self.store.expire(job_ids, forget_at):
            self.storage.delete_prefix(layout.job_prefix(job_id))
