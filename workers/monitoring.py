"""Counting every scored batch and chunk against its version's reference profile.

A worker keeps each version's reference for `monitoring_refresh_seconds`. Before a version has
a reference, its first `monitoring_provisional_rows` scored rows are collected in Redis; the
worker whose rows complete them builds the provisional reference. A reference set from a file
or a job carries a sample of its rows: the first worker to need its prediction profile scores
that sample with the model in hand. Nothing here may fail or slow a job: errors are logged.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import numpy as np
import orjson
import pandas as pd
import redis

from inferq.config import Settings
from inferq.metrics.recorder import combined
from inferq.monitoring import keys
from inferq.monitoring.reference import (
    PREDICTION,
    Reference,
    ReferenceStore,
    build_reference,
    prediction_profile,
    sample_frame,
)
from inferq.monitoring.serving import Layout, bucket_write, current_minute, layout_of
from inferq.redis_client import Write
from inferq.schema import ModelSchema
from workers.model_cache import LoadedModel
from workers.scoring import features_frame, predict_table

log = logging.getLogger(__name__)
FLUSH_SECONDS = 1.0
"""Batches' counts are added up in the process and sent at most this often (chunks at once)."""
PROVISIONAL_SEND_ROWS = 1_000
"""Rows held for a version's provisional sample that are sent without waiting `FLUSH_SECONDS`:
one round trip per batch had cost the worker about a third more CPU per one-row job until the
first 10,000 rows of a version were collected."""

# Append a block of rows to a version's provisional sample while it is short of the limit.
# KEYS: rows counter, sample list, reference, build lease. ARGV: block, its rows, limit, ttl.
# Returns {before, after}; {-1, -1} when the version has a reference by now; {-2, rows} when
# the sample is complete but its builder's lease ran out (it died): the caller builds it.
_COLLECT = """
if redis.call('EXISTS', KEYS[3]) == 1 then return {-1, -1} end
local have = tonumber(redis.call('GET', KEYS[1]) or '0')
if have >= tonumber(ARGV[3]) then
  if redis.call('SET', KEYS[4], '1', 'NX', 'EX', 60) then return {-2, have} end
  return {have, have}
end
redis.call('RPUSH', KEYS[2], ARGV[1])
local now = redis.call('INCRBY', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[4])
if now >= tonumber(ARGV[3]) then redis.call('SET', KEYS[4], '1', 'EX', 60) end
return {have, now}
"""


class ServingMonitor:
    """One per worker process: turns scored rows into serving-count writes."""

    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self.redis = client
        self.settings = settings
        self.store = ReferenceStore(client)
        self._collect = client.register_script(_COLLECT)
        self._cache: dict[tuple[str, int], tuple[float, Reference | None]] = {}
        self._pending: dict[tuple[str, int, str, int, int], tuple[Layout, np.ndarray]] = {}
        self._next_flush = 0.0
        # Rows scored before a version has a reference, held for its provisional sample.
        self._provisional: dict[tuple[str, int], _HeldRows] = {}
        self._lock = threading.Lock()  # the batcher thread and chunk tasks share a process

    def observe(self, loaded: LoadedModel, columns: dict[str, Any], predictions: Any) -> None:
        """Count one batch's rows (sent by the next due `flush_write`), or hold them for the
        version's provisional sample while it has no reference (sent by `send_provisional`);
        never raises."""
        if not self.settings.monitoring:
            return
        try:
            ref = self.reference(loaded)
            if ref is None:
                self._hold_provisional(loaded, columns, predictions)
                return
            layout = layout_of(ref)
            first = next(iter(columns.values()), predictions)
            vector = layout.fold({**columns, PREDICTION: predictions}, len(first))
            minute = current_minute(time.time())
            # Vectors add up only within one layout (it grows once predictions are profiled).
            key = (loaded.meta.name, loaded.meta.version, ref.id, minute, len(layout.fields))
            with self._lock:
                held = self._pending.get(key)
                self._pending[key] = (layout, vector if held is None else held[1] + vector)
        except Exception:  # monitoring must never fail the scoring it watches
            log.exception("monitoring %s@%s failed", loaded.meta.name, loaded.meta.version)

    def send_provisional(self, force: bool = False) -> None:
        """Add the rows held for provisional samples to them in Redis: a version's once
        `FLUSH_SECONDS` have passed since its first held batch or `PROVISIONAL_SEND_ROWS` are
        held (all at once with `force`); never raises."""
        now = time.monotonic()
        with self._lock:
            due = [
                key
                for key, held in self._provisional.items()
                if force or held.rows >= PROVISIONAL_SEND_ROWS or now >= held.since + FLUSH_SECONDS
            ]
            sending = [self._provisional.pop(key) for key in due]
        for held in sending:
            loaded = held.loaded
            try:
                columns, predictions = held.joined()
                if self._collect_provisional(loaded, columns):
                    self.reference(loaded, fresh=True)  # one was set since: count against it
                    self.observe(loaded, columns, predictions)
            except Exception:
                log.exception("monitoring %s@%s failed", loaded.meta.name, loaded.meta.version)

    def _hold_provisional(
        self, loaded: LoadedModel, columns: dict[str, Any], predictions: Any
    ) -> None:
        key = (loaded.meta.name, loaded.meta.version)
        with self._lock:
            held = self._provisional.get(key)
            if held is None:
                held = self._provisional[key] = _HeldRows(loaded, time.monotonic())
            held.add(columns, predictions)

    def flush_write(self, force: bool = False) -> Write | None:
        """The counts held since the last flush, as one write, once `FLUSH_SECONDS` have passed
        (or at once with `force`); None when nothing is due."""
        now = time.monotonic()
        with self._lock:
            if not self._pending or (now < self._next_flush and not force):
                return None
            pending, self._pending = self._pending, {}
            self._next_flush = now + FLUSH_SECONDS
        ttl = self.settings.monitoring_bucket_ttl_seconds
        return combined(
            *(
                bucket_write(name, version, ref_id, layout.counts(vector), minute, ttl)
                for (name, version, ref_id, minute, _), (layout, vector) in pending.items()
            )
        )

    def send(self, write: Write | None) -> None:
        """Send one write in its own round trip (a chunk's), logging a failure."""
        if write is None:
            return
        try:
            pipe = self.redis.pipeline(transaction=False)
            write(pipe)
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("monitoring counts not recorded: %s", exc)

    def reference(self, loaded: LoadedModel, fresh: bool = False) -> Reference | None:
        """The version's reference with its prediction profile, from this process's cache
        (`fresh`: read again now)."""
        key = (loaded.meta.name, loaded.meta.version)
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now and not fresh:
            return cached[1]
        ref = self.store.load(*key)
        if ref is not None and ref.prediction is None:
            self._score_reference(loaded, ref)
        self._cache[key] = (now + self.settings.monitoring_refresh_seconds, ref)
        return ref

    def _score_reference(self, loaded: LoadedModel, ref: Reference) -> None:
        """Build the reference's prediction profile from its stored sample, if still there."""
        name, version = loaded.meta.name, loaded.meta.version
        raw = self.store.sample(name, version, ref.id)
        if raw is None:
            return
        schema = loaded.meta.schema
        predicted = _predict(loaded, sample_frame(raw, schema))
        ref.prediction = prediction_profile(predicted, schema, self.settings.monitoring_bins)
        self.store.set_predictions(name, version, ref.id, ref.prediction)

    def _collect_provisional(self, loaded: LoadedModel, columns: dict[str, Any]) -> bool:
        """Add the rows to the provisional sample (building the reference when they complete
        it); True when a reference existed already, so the rows are still to be counted."""
        name, version = loaded.meta.name, loaded.meta.version
        limit = self.settings.monitoring_provisional_rows
        block = {n: _plain(values[:limit]) for n, values in columns.items()}
        rows = len(next(iter(block.values()), []))
        script_keys = [
            keys.provisional_rows(name, version),
            keys.provisional_sample(name, version),
            keys.reference(name, version),
            keys.provisional_lease(name, version),
        ]
        before, after = self._collect(
            keys=script_keys,
            args=[orjson.dumps(block), rows, limit, self.settings.monitoring_bucket_ttl_seconds],
        )
        if int(before) == -1:
            return True
        if int(before) == -2 or int(before) < limit <= int(after):
            self._build_provisional(loaded)
        return False

    def _build_provisional(self, loaded: LoadedModel) -> None:
        """Make the collected rows the version's provisional reference, and count them."""
        meta, settings = loaded.meta, self.settings
        blocks = self.redis.lrange(keys.provisional_sample(meta.name, meta.version), 0, -1)
        frame = _frame(blocks, meta.schema).iloc[: settings.monitoring_provisional_rows]
        if frame.empty:
            return
        ref = build_reference(frame, meta.schema, "provisional", settings.monitoring_bins)
        if not self.store.save_provisional(meta.name, meta.version, ref):
            return
        predicted = _predict(loaded, frame)
        ref.prediction = prediction_profile(predicted, meta.schema, settings.monitoring_bins)
        self.store.set_predictions(meta.name, meta.version, ref.id, ref.prediction)
        self._cache[(meta.name, meta.version)] = (
            time.monotonic() + settings.monitoring_refresh_seconds,
            ref,
        )
        columns = {n: frame[n].to_numpy() for n in meta.schema.feature_names}
        self.observe(loaded, columns, predicted)
        self.send(self.flush_write(force=True))


class _HeldRows:
    """A version's scored batches held for its provisional sample: columns and predictions."""

    def __init__(self, loaded: LoadedModel, since: float) -> None:
        self.loaded = loaded
        self.since = since
        self.rows = 0
        self.batches: list[tuple[dict[str, Any], Any]] = []

    def add(self, columns: dict[str, Any], predictions: Any) -> None:
        self.batches.append((columns, predictions))
        self.rows += len(next(iter(columns.values()), ()))

    def joined(self) -> tuple[dict[str, Any], Any]:
        """The batches as one: each column (and the predictions) end to end."""
        if len(self.batches) == 1:
            return self.batches[0]
        columns = {
            name: _joined([batch[0][name] for batch in self.batches]) for name in self.batches[0][0]
        }
        predictions = [batch[1] for batch in self.batches]
        return columns, None if predictions[0] is None else _joined(predictions)


def _joined(parts: list[Any]) -> Any:
    """Arrays end to end as one array; anything else (tuples of strings) as one list."""
    if all(isinstance(part, np.ndarray) for part in parts):
        return np.concatenate(parts)
    return [value for part in parts for value in part]


def batch_columns(values: list[list[Any]] | np.ndarray, schema: ModelSchema) -> dict[str, Any]:
    """Feature rows (lists in the schema's order) as one array or tuple per feature."""
    names = schema.feature_names
    if not schema.string_features:
        array = np.array(values, dtype=np.float64).reshape(-1, len(names))
        return {name: array[:, i] for i, name in enumerate(names)}
    return dict(zip(names, zip(*values, strict=True), strict=True)) if values else {}


def _predict(loaded: LoadedModel, frame: pd.DataFrame) -> np.ndarray:
    schema = loaded.meta.schema
    table = predict_table(loaded.estimator, schema, features_frame(frame, schema), ["prediction"])
    return table["prediction"].to_numpy()


def _frame(blocks: list[bytes | str], schema: ModelSchema) -> pd.DataFrame:
    parts = [sample_frame(block, schema) for block in blocks]
    if not parts:
        return pd.DataFrame(columns=schema.feature_names)
    return pd.concat(parts, ignore_index=True)


def _plain(values: Any) -> list[Any]:
    """A column as JSON-ready values (NaN becomes null)."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        return [None if v != v else v for v in values.tolist()]
    return [v.item() if hasattr(v, "item") else v for v in values]
