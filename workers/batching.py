"""Dynamic batching across small JSON jobs: claim many, score each model version at once.

A batcher thread runs in every worker process. It claims up to `max_batch_rows` queued jobs
(highest priority first), waits `max_delay_ms` for more when it found few (0 by default, as in
Triton: under load, jobs queue while a batch is scored, so batches fill by themselves), groups
them by exact model version, scores each group with one predict call per slice and splits the
output back per job. A job whose rows make the model raise is retried alone so it fails
without its neighbours. Ending a batch (results, statuses, metrics) and claiming the next take
one round trip together. Synchronous protocol requests (`inferq.jobs.sync`) come off the same
lanes and are scored in the same batches; their answers are published in that round trip
(`workers.sync_answers`), never stored. An all-numeric request comes as a float64 matrix
(`MatrixRows`): it is stacked with the other rows of its model version as it is, and answered
column by column, never turned into Python rows.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable

import numpy as np
import orjson

from inferq.jobs.janitor import Janitor
from inferq.jobs.pending import ClaimedJob
from inferq.jobs.record import JobRecord
from inferq.jobs.shadows import ShadowLane, ShadowWork
from inferq.jobs.store import InlineOutcome
from inferq.json_rows import MatrixRows, Rows, check_matrix, check_rows
from inferq.keyring import DecryptionFailed
from inferq.metrics.recorder import combined
from inferq.problems import InputProblem
from inferq.redis_client import REDIS_UNAVAILABLE, ScriptCall, Write, pipelined
from inferq.schema import ContributionsMethod, ModelSchema
from workers.context import WorkerContext
from workers.drift_check import DriftCheck
from workers.job_metrics import inline_batch_metrics
from workers.model_cache import LoadedModel
from workers.monitoring import batch_columns
from workers.scoring import output_columns, predict_columns, single_threaded_if_small
from workers.sync_answers import split_outcomes
from workers.usage_counts import batch_usage

log = logging.getLogger(__name__)


Watch = Callable[[list[list] | np.ndarray, dict[str, list]], None]
"""Told each scored slice's feature rows and output columns (monitoring counts them)."""

INPUT_MISSING = {"code": "input_missing", "message": "the job's input rows are gone (expired?)"}


class Batcher:
    """Claims and scores small jobs until stopped; one per worker process."""

    def __init__(self, ctx: WorkerContext) -> None:
        self.ctx = ctx
        self.shadow_lane = ShadowLane(ctx.store.redis, ctx.settings.shadow_max_queued)
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self.stop_event = threading.Event()
        self.janitor = Janitor(ctx.store, ctx.storage, ctx.settings)
        self.drift = DriftCheck(ctx)
        self._scoring: list[str] = []

    def run_forever(self) -> None:
        """Loop until `stop_event` is set; Redis outages are waited out, never fatal.

        A batch is ended and the next one claimed in one round trip. On stop, the batch in
        hand is scored and ended, and no other is claimed.
        """
        threading.Thread(target=self._renew_leases, name="inferq-leases", daemon=True).start()
        claimed: list[ClaimedJob] = []
        wait = 0.0
        while claimed or not self.stop_event.is_set():
            try:
                self.janitor.sweep_if_due()
                self.drift.run_if_due()
                if not claimed:
                    claimed = self._claim(self.ctx.settings.max_batch_rows, wait)
                # Once a claim has come back empty, claims with nothing in hand first wait for
                # the doorbell (at most 1 s), in the same round trip.
                wait = 1.0
                claimed = self.run_once(claimed, claim_next=not self.stop_event.is_set())
            except REDIS_UNAVAILABLE as exc:
                claimed = []  # their leases run out and they are claimed again
                log.warning("batcher waiting for Redis: %s", exc)
                self.stop_event.wait(1.0)
            except Exception:  # a bug must not kill the thread and strand the queue
                claimed = []
                log.exception("batcher iteration failed")
                self.stop_event.wait(1.0)

    def run_once(self, claimed: list[ClaimedJob], claim_next: bool = True) -> list[ClaimedJob]:
        """Score a claimed batch (topped up for `max_delay_ms` first) and end it; with
        `claim_next`, claim the next batch in the same round trip and return it."""
        claimed = self._top_up(claimed)
        if not claimed:
            return []
        settings, store = self.ctx.settings, self.ctx.store
        self._scoring = [job.record.id for job in claimed]
        try:
            all_outcomes, metrics = self._score_claimed(claimed)
            outcomes, answers = split_outcomes(claimed, all_outcomes)
            usage = batch_usage(self.ctx.usage, claimed, all_outcomes)
            steps: list[ScriptCall | Write] = [
                store.finish_inline_call(outcomes, usage),
                store.pending.answer_write(answers, _rows_keys(claimed)),
                self.shadow_lane.offer_call(shadow_work(claimed, outcomes)),
            ]
            if claim_next:
                owner, rows, lease = self.owner, settings.max_batch_rows, settings.lease_seconds
                steps.append(store.pending.claim_call(owner, rows, lease))
            # Metrics last: whatever befalls them, the jobs have ended and the next are held.
            *replies, metrics_reply = pipelined(store.redis, *steps, metrics)
            for reply in replies:
                if isinstance(reply, Exception):
                    raise reply
            following = store.pending.claimed(replies[3]) if claim_next else []
        except BaseException:
            self._scoring = []
            raise
        # The next batch is held from now on: its leases are renewed until it has ended.
        self._scoring = [job.record.id for job in following]
        if isinstance(metrics_reply, Exception):
            log.warning("batch metrics not recorded: %s", metrics_reply)
        return following

    def _top_up(self, claimed: list[ClaimedJob]) -> list[ClaimedJob]:
        """Wait `max_delay_ms` for more jobs when the claim found fewer than a full batch."""
        settings = self.ctx.settings
        delay_ms = self._delay_ms(claimed) if claimed else 0
        if len(claimed) < settings.max_batch_rows and delay_ms > 0:
            time.sleep(delay_ms / 1000)
            claimed = claimed + self._claim(settings.max_batch_rows - len(claimed))
        return claimed

    def _renew_leases(self) -> None:
        """Keep the leases of the batch being scored alive, however long a big job takes."""
        period = max(0.2, self.ctx.settings.lease_seconds / 3)
        while not self.stop_event.wait(period):
            with contextlib.suppress(*REDIS_UNAVAILABLE):
                self.ctx.store.pending.renew(list(self._scoring), self.ctx.settings.lease_seconds)

    def _score_claimed(self, claimed: list[ClaimedJob]) -> tuple[list[InlineOutcome], Write]:
        """Each job's outcome, and the batch's metrics (to send as it ends)."""
        settings = self.ctx.settings
        if len(claimed) == settings.max_batch_rows:
            self.ctx.store.pending.ring()  # more may wait: wake a peer
        records = [job.record for job in claimed if job.record.input_kind == "inline"]
        inputs = {job.record.id: _claimed_input(job) for job in claimed}
        outcomes: list[InlineOutcome] = []
        groups: dict[tuple[str, int], list[JobRecord]] = defaultdict(list)
        for record in records:
            groups[(record.model_name, record.model_version)].append(record)
        seconds = []
        version_rows: dict[tuple[str, int], int] = {}
        for (name, version), group in groups.items():
            start = time.perf_counter()
            scored_group = self._score_group(name, version, group, inputs)
            seconds.append(time.perf_counter() - start)
            version_rows[(name, version)] = sum(outcome.rows for outcome in scored_group)
            outcomes += scored_group
        scored = sum(outcome.rows for outcome in outcomes)
        sizes = [sum(r.rows_total or 0 for r in g) for g in groups.values()]
        jobs = [job.record for job in claimed if job.request is None]  # sync requests: no times
        metrics = inline_batch_metrics(self.ctx, jobs, scored, sizes, seconds, version_rows)
        counts = self.ctx.monitor.flush_write()  # monitoring counts ride along when due
        return outcomes, metrics if counts is None else combined(metrics, counts)

    def _claim(self, count: int, wait: float = 0.0) -> list[ClaimedJob]:
        return self.ctx.store.pending.claim(
            self.owner, count, self.ctx.settings.lease_seconds, wait
        )

    def _score_group(
        self,
        name: str,
        version: int,
        group: list[JobRecord],
        inputs: dict[str, bytes | np.ndarray | None],
    ) -> list[InlineOutcome]:
        try:
            loaded = self.ctx.models.get(name, version)
        except REDIS_UNAVAILABLE:
            raise  # not the model's fault: the leases run out and the jobs are scored again
        except Exception as exc:  # unreadable artifact: every job of this version fails alike
            code = "decryption_failed" if isinstance(exc, DecryptionFailed) else "model_unavailable"
            error = {"code": code, "message": f"{type(exc).__name__}: {exc}"}
            return [InlineOutcome(r.id, error=error) for r in group]
        frames: dict[str, Rows | MatrixRows] = {}
        outcomes: list[InlineOutcome] = []
        for record in group:
            log.debug(  # small jobs are counted in /metrics, not logged one by one at INFO
                "scoring job %s in a batch of %d",
                record.id,
                len(group),
                extra={"job_id": record.id, "tenant": record.tenant},
            )
            raw = inputs.get(record.id)
            if raw is None:
                outcomes.append(InlineOutcome(record.id, error=INPUT_MISSING))
                continue
            try:
                frames[record.id] = job_rows(record, raw, loaded)
            except InputProblem as exc:
                outcomes.append(
                    InlineOutcome(record.id, error={"code": "invalid_input", "message": exc.detail})
                )
        ready = [r for r in group if r.id in frames]
        watch = self._watcher(loaded)
        outcomes += score_jobs_together(loaded, ready, frames, self._batch_rows(name), watch)
        return outcomes

    def _watcher(self, loaded: LoadedModel) -> Watch | None:
        """Hands each scored slice to monitoring, which counts it against the reference."""
        if not self.ctx.settings.monitoring:
            return None

        def watch(values: list[list] | np.ndarray, columns: dict[str, list]) -> None:
            features = batch_columns(values, loaded.meta.schema)
            self.ctx.monitor.observe(loaded, features, columns.get("prediction"))

        return watch

    def _batch_rows(self, name: str) -> int:
        """Rows per predict call: the model's `max_batch_rows` override, else the memory bound
        `predict_batch_rows`. (Not `max_batch_rows`, which counts the jobs a claim takes: eight
        1,000-row requests cut into 512-row calls paid a forest's fixed cost per call 16 times
        instead of once; issue 19.)"""
        override = self.ctx.settings.batch_overrides.get(name, {})
        return int(override.get("max_batch_rows", self.ctx.settings.predict_batch_rows))

    def _delay_ms(self, claimed: list[ClaimedJob]) -> float:
        """How long to wait for more jobs: the longest delay wanted by a model in the claim."""
        settings = self.ctx.settings
        names = {job.record.model_name for job in claimed}
        delays = [settings.batch_overrides.get(name, {}).get("max_delay_ms") for name in names]
        return max([settings.max_delay_ms, *(d for d in delays if d is not None)])


def shadow_work(claimed: list[ClaimedJob], outcomes: list[InlineOutcome]) -> list[ShadowWork]:
    """The shadow work of the batch's jobs that succeeded and have a shadow version."""
    scored = {outcome.job_id: outcome.rows for outcome in outcomes if outcome.error is None}
    return [
        ShadowWork.of(job.record, scored[job.record.id])
        for job in claimed
        if job.record.shadow_version is not None and job.record.id in scored
    ]


def job_rows(record: JobRecord, raw: bytes | np.ndarray, loaded: LoadedModel) -> Rows | MatrixRows:
    """A job's stored rows (or a sync request's matrix), checked against the model's schema."""
    schema = loaded.meta.schema
    if isinstance(raw, np.ndarray):
        if schema.string_features or raw.shape[1] != len(schema.features):
            raise InputProblem(
                "Input columns do not match the model",
                [{"loc": ["rows"], "msg": f"{raw.shape[1]} numbers per row do not fit the model"}],
            )
        matrix = MatrixRows(schema.feature_names, raw)
        check_matrix(matrix, schema, "rows")
        return matrix
    rows = Rows(**orjson.loads(raw))
    check_rows(rows, schema, record.passthrough, "rows")
    return rows


def score_jobs_together(
    loaded: LoadedModel,
    jobs: list[JobRecord],
    inputs: dict[str, Rows | MatrixRows],
    batch_rows: int,
    watch: Watch | None = None,
) -> list[InlineOutcome]:
    """Score jobs of one model version in shared predict calls; isolate a job that breaks it.

    The rows of all jobs are stacked once per batch (not per job) and scored without pandas
    when the model allows; the outputs are split back by row counts with plain list slicing.
    Jobs share predict calls only with jobs that want contributions the same way (exact,
    approximate, or none: a batch computes what any of its jobs asks, for all of its rows).
    """
    if not jobs:
        return []
    kinds = {_contributions(job) for job in jobs}
    if len(kinds) > 1:
        return [
            outcome
            for kind in kinds
            for outcome in score_jobs_together(
                loaded, [j for j in jobs if _contributions(j) == kind], inputs, batch_rows, watch
            )
        ]
    schema = loaded.meta.schema
    outputs = sorted({o for job in jobs for o in job.outputs})
    method: ContributionsMethod = kinds.pop() or "exact"
    try:
        values = _stack_features(jobs, inputs, schema.feature_names)
        started = time.thread_time()
        with single_threaded_if_small(len(values)):
            columns = predict_columns(loaded.estimator, schema, values, outputs, batch_rows, method)
        cpu_per_row = (time.thread_time() - started) / max(len(values), 1)
    except Exception as exc:
        if len(jobs) == 1:
            error = {"code": "scoring_failed", "message": f"{type(exc).__name__}: {exc}"}
            return [InlineOutcome(jobs[0].id, error=error)]
        return [
            outcome
            for job in jobs
            for outcome in score_jobs_together(loaded, [job], inputs, batch_rows, watch)
        ]
    if watch is not None:
        watch(values, columns)
    outcomes, start = [], 0
    for job in jobs:
        rows = inputs[job.id]
        end = start + len(rows.data)
        table = (
            matrix_table(job, schema, columns, start, end)
            if isinstance(rows, MatrixRows)
            else job_table(rows, job, schema, columns, start, end)
        )
        outcomes.append(
            InlineOutcome(
                job.id,
                result=orjson.dumps(table),
                rows=end - start,
                batch_jobs=len(jobs),
                cpu_seconds=cpu_per_row * (end - start),
            )
        )
        start = end
    return outcomes


def job_table(
    rows: Rows,
    job: JobRecord,
    schema: ModelSchema,
    predicted: dict[str, list],
    start: int,
    end: int,
) -> dict[str, list]:
    """One job's result as columns/data: passthrough values, then the outputs it asked for."""
    names = output_columns(schema, job.outputs, job.passthrough)
    positions = [rows.columns.index(name) for name in job.passthrough]
    outputs = [predicted[name][start:end] for name in names[len(positions) :]]
    data = [
        [row[p] for p in positions] + [column[i] for column in outputs]
        for i, row in enumerate(rows.data)
    ]
    return {"columns": names, "data": data}


def matrix_table(
    job: JobRecord, schema: ModelSchema, predicted: dict[str, list], start: int, end: int
) -> dict[str, list]:
    """A matrix request's answer, column by column: `{columns, values}` (no passthrough)."""
    names = output_columns(schema, job.outputs, [])
    return {"columns": names, "values": [predicted[name][start:end] for name in names]}


def _contributions(job: JobRecord) -> ContributionsMethod | None:
    """How the job wants its contributions computed; None when it wants none."""
    if "contributions" not in job.outputs:
        return None
    return job.contributions_method or "exact"


def _rows_keys(claimed: list[ClaimedJob]) -> list[str]:
    """Where the rows of the claimed sync requests that carried them apart wait."""
    return [job.request.rows_key for job in claimed if job.request and job.request.apart]


def _claimed_input(job: ClaimedJob) -> bytes | np.ndarray | None:
    """A claimed job's stored rows; a sync request's matrix when its rows travel as one."""
    if job.request is not None and job.request.width:
        return job.request.matrix() if job.rows else None
    return job.rows


def _stack_features(
    jobs: list[JobRecord], inputs: dict[str, Rows | MatrixRows], features: list[str]
) -> list[list] | np.ndarray:
    """The feature rows of all jobs in order: one float64 matrix when a matrix request is among
    them (the model then takes only numbers), else lists."""
    if any(isinstance(inputs[job.id], MatrixRows) for job in jobs):
        return np.vstack([_matrix(inputs[job.id], features) for job in jobs])
    data: list[list] = []
    for job in jobs:
        rows = inputs[job.id]
        if rows.columns == features:
            data += rows.data
            continue
        positions = [rows.columns.index(name) for name in features]
        data += [[row[p] for p in positions] for row in rows.data]
    return data


def _matrix(rows: Rows | MatrixRows, features: list[str]) -> np.ndarray:
    """Rows of an all-numeric model as a float64 matrix of its features (None: NaN)."""
    if isinstance(rows, MatrixRows):
        return rows.matrix
    data = rows.data
    if rows.columns != features:
        positions = [rows.columns.index(name) for name in features]
        data = [[row[p] for p in positions] for row in data]
    return np.array(data, dtype=np.float64).reshape(-1, len(features))
