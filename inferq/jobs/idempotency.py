"""Idempotency-Key marks: which job a key created, written in the same transaction as the job.

There is no "in progress" state: a request that dies (or loses Redis) before its transaction
leaves nothing behind, so a retry with the same key simply creates the job.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IdempotencyMark:
    """An Idempotency-Key's Redis key, and the digest of the body it came with."""

    redis_key: str
    digest: str

    def value(self, job_id: str) -> str:
        """What the key holds once it created `job_id`."""
        return f"{self.digest}:{job_id}"


class IdempotencyTaken(Exception):
    """Another request created a job with this Idempotency-Key first."""
