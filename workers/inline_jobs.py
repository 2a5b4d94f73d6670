"""Scoring a JSON job whose rows live in the job store: claim, score, store, finish."""

from __future__ import annotations

import logging

import orjson
import pandas as pd

from inferq.jobs.record import JobRecord
from inferq.json_rows import Rows, check_rows
from inferq.keyring import DecryptionFailed
from inferq.logs import log_context
from inferq.problems import InputProblem
from inferq.redis_client import REDIS_UNAVAILABLE
from models.artifacts import ArtifactError
from models.registry import ModelNotFound
from workers.context import WorkerContext
from workers.job_metrics import record_batch, timed_chunk
from workers.scoring import score_frame

log = logging.getLogger(__name__)


def run_inline_job(job_id: str, ctx: WorkerContext) -> None:
    """Score one JSON job end to end; any failure ends the job as failed with its reason."""
    record = ctx.store.claim(job_id)
    if record is None:
        log.info("job %s is not runnable (ended, cancelled or deleted); skipping", job_id)
        return
    with log_context(tenant=record.tenant):
        log.debug("scoring job %s", job_id)
        _score(record, ctx)


def _score(record: JobRecord, ctx: WorkerContext) -> None:
    job_id = record.id
    try:
        loaded = ctx.models.get(record.model_name, record.model_version)
        raw = ctx.store.read_inline_input(job_id)
        if raw is None:
            ctx.store.fail(job_id, "input_missing", "the job's input rows are gone (expired?)")
            return
        rows = Rows(**orjson.loads(raw))
        check_rows(rows, loaded.meta.schema, record.passthrough, "rows")
        frame = pd.DataFrame(rows.data, columns=rows.columns)
        with timed_chunk(ctx):
            scored = score_frame(
                loaded.estimator,
                loaded.meta.schema,
                frame,
                record.outputs,
                record.passthrough,
                ctx.settings.predict_batch_rows,
                on_batch=lambda rows: record_batch(ctx, rows),
                contributions_method=record.contributions_method,
            )
    except REDIS_UNAVAILABLE:
        raise  # not the job's fault: the task runs it again once Redis answers
    except DecryptionFailed as exc:
        log.error("job %s: %s", job_id, exc)
        ctx.store.fail(job_id, "decryption_failed", str(exc))
        return
    except (ModelNotFound, ArtifactError) as exc:
        ctx.store.fail(job_id, "model_unavailable", str(exc))
        return
    except InputProblem as exc:
        ctx.store.fail(job_id, "invalid_input", exc.detail)
        return
    except Exception as exc:  # the model itself raised: the job fails, the worker goes on
        log.exception("scoring job %s failed", job_id)
        ctx.store.fail(job_id, "scoring_failed", f"{type(exc).__name__}: {exc}")
        return
    ctx.store.store_inline_result(job_id, result_json(scored), errors=[])
    if not ctx.store.succeed(job_id, rows_done=len(scored), rows_failed=0):
        # Cancelled while scoring: the rows are kept and the job ends cancelled.
        ctx.store.finish_cancel(job_id)


def result_json(scored: pd.DataFrame) -> bytes:
    """Scored rows as columns/data JSON (NaN as null, numpy values as JSON numbers)."""
    columns = [scored[name].to_numpy().tolist() for name in scored.columns]
    return orjson.dumps(
        {"columns": list(scored.columns), "data": list(map(list, zip(*columns, strict=True)))}
    )
