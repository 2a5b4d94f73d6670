"""Scoring small jobs with their alias's shadow version, in a thread beside the batcher.

Each worker process runs one shadow thread, niced like bulk work (`bulk_niceness`), so the OS
hands the batcher the CPU first and a one-row job never waits for a whole shadow batch. It
takes a batch of shadow work (`inferq.jobs.shadows`) only when every job lane is empty, scores
each shadow version's jobs together as the batcher scores real jobs, stores each job's shadow
result until the job expires, and adds the comparison with the primary's result to the alias's
aggregates (`inferq.comparison`), all in one round trip.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from typing import Any

import orjson

from inferq.comparison import RowComparison, compare_tables, comparison_write
from inferq.jobs.keys import job_shadow_result
from inferq.jobs.shadows import ClaimedShadow, ShadowLane, ShadowWork
from inferq.json_rows import MatrixRows, Rows
from inferq.metrics.keys import COUNTERS, counter_field
from inferq.metrics.recorder import combined
from inferq.problems import InputProblem
from inferq.redis_client import REDIS_UNAVAILABLE, Write, pipelined
from workers.batching import job_rows, score_jobs_together
from workers.context import WorkerContext
from workers.priority import lower_task_thread_priority

log = logging.getLogger(__name__)
#: Shadow work waits at most this long for a full batch (`shadow_batch_jobs`) before it is
#: scored in a smaller one.
SHADOW_WAIT_SECONDS = 1.0
#: How soon the shadow thread looks at the lane again after finding nothing to take; each
#: look that finds nothing doubles the wait, up to `IDLE_LOOK_SECONDS`.
LOOK_SECONDS = 0.05
#: The longest wait between looks. Without shadows a worker process looked 20 times a second,
#: each an EVALSHA: ~13% of a batcher process's busy samples under one-row load (py-spy,
#: issue 16). Shadow work waits for a full batch or `SHADOW_WAIT_SECONDS` anyway.
IDLE_LOOK_SECONDS = 0.5


class Looks:
    """When the shadow thread looks at its lane next: at once after taking a batch, then
    `LOOK_SECONDS` after finding nothing, twice as long after each further look that found
    nothing, up to `IDLE_LOOK_SECONDS`."""

    def __init__(self) -> None:
        self._wait = LOOK_SECONDS

    def after(self, found: bool) -> float:
        """Seconds to wait after a look that `found` a batch (0) or did not."""
        if found:
            self._wait = LOOK_SECONDS
            return 0.0
        wait, self._wait = self._wait, min(self._wait * 2, IDLE_LOOK_SECONDS)
        return wait


class ShadowRunner:
    """Takes and scores small jobs' shadow work in one worker process (its own thread)."""

    def __init__(self, ctx: WorkerContext) -> None:
        self.ctx = ctx
        settings = ctx.settings
        self.lane = ShadowLane(
            ctx.store.redis,
            settings.shadow_max_queued,
            min(settings.shadow_batch_jobs, settings.max_batch_rows),
            SHADOW_WAIT_SECONDS,
        )

    def run_forever(self, stop: threading.Event) -> None:
        """Score shadow work until `stop` is set; Redis outages are waited out."""
        lower_task_thread_priority(self.ctx.settings.bulk_niceness)
        looks = Looks()
        while not stop.is_set():
            try:
                wait = looks.after(found=self.run_once())
                if wait:
                    stop.wait(wait)
            except REDIS_UNAVAILABLE as exc:
                log.warning("shadow work waiting for Redis: %s", exc)
                stop.wait(1.0)
            except Exception:  # a bug must not kill the thread: shadow work just waits
                log.exception("shadow batch failed")
                stop.wait(1.0)

    def run_once(self) -> bool:
        """Score one batch of shadow work; False when there was none (or not enough yet)."""
        claimed = self.lane.claim(self.ctx.settings.max_batch_rows)
        if not claimed:
            return False
        oldest = time.time() - self.ctx.settings.shadow_max_delay_seconds
        stale = [c.work for c in claimed if c.work.queued_at < oldest or c.rows is None]
        if stale:
            self.lane.shed(stale)
        fresh = [c for c in claimed if c.work.queued_at >= oldest and c.rows is not None]
        groups: dict[tuple[str, int], list[ClaimedShadow]] = defaultdict(list)
        for item in fresh:
            groups[(item.work.model, item.work.shadow)].append(item)
        writes = [
            self._score_group(name, shadow, group) for (name, shadow), group in groups.items()
        ]
        pipelined(self.ctx.store.redis, *writes)
        return True

    def _score_group(self, name: str, shadow: int, group: list[ClaimedShadow]) -> Write:
        try:
            loaded = self.ctx.models.get(name, shadow)
        except REDIS_UNAVAILABLE:
            raise
        except Exception as exc:  # the shadow cannot load: its work is shed, the jobs are fine
            log.warning("shadow %s@%d cannot load: %s", name, shadow, exc)
            return self._shed_write([item.work for item in group])
        frames: dict[str, Rows | MatrixRows] = {}
        records = []
        for item in group:
            record = item.work.record()
            try:
                frames[record.id] = job_rows(record, item.rows or b"", loaded)
            except InputProblem:
                continue
            records.append(record)
        outcomes = score_jobs_together(
            loaded, records, frames, self.ctx.settings.predict_batch_rows
        )
        works = {item.work.id: item for item in group}
        classifier = loaded.meta.schema.task == "classification"
        writes: list[Write] = []
        compared: dict[tuple[str, int], RowComparison] = {}
        for outcome in outcomes:
            item = works[outcome.job_id]
            if outcome.error is not None:
                continue
            writes.append(stored_shadow(item.work, outcome.result))
            if item.primary is not None:
                found = compare_tables(
                    orjson.loads(item.primary),
                    orjson.loads(outcome.result),
                    classifier,
                    item.work.id,
                )
                compared.setdefault((item.work.alias, item.work.version), RowComparison()).add(
                    found
                )
        for (alias, version), found in compared.items():  # one write per alias for the batch
            writes.append(comparison_write(name, alias, (version, shadow), found))
        scored = sum(outcome.rows for outcome in outcomes if outcome.error is None)
        field = counter_field("shadow_rows_scored", model=name, version=str(shadow))
        return combined(*[*writes, lambda pipe: pipe.hincrby(COUNTERS, field, scored)])

    def _shed_write(self, works: list[ShadowWork]) -> Write:
        def write(pipe: Any) -> None:
            for work in works:
                shed = counter_field("shadow_rows_shed", model=work.model, version=str(work.shadow))
                pipe.hincrby(COUNTERS, shed, work.rows)

        return write


def stored_shadow(work: ShadowWork, result: bytes) -> Write:
    """A job's shadow result, kept until the job expires."""

    def store(pipe: Any) -> None:
        key = job_shadow_result(work.id)
        if work.expires_at is not None:
            pipe.set(key, result, pxat=int(work.expires_at * 1000))
        else:
            pipe.set(key, result)

    return store
