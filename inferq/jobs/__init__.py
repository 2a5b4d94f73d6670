"""Job state shared by the API and the workers: records, keys and the store in Redis."""

from inferq.jobs.record import TERMINAL_STATUSES, JobRecord, JobStatus
from inferq.jobs.store import JobStore

__all__ = ["TERMINAL_STATUSES", "JobRecord", "JobStatus", "JobStore"]
