"""A model version's reference profile: what its inputs and predictions looked like in training."""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import orjson
import pandas as pd
import redis

from inferq.monitoring import keys
from inferq.monitoring.profile import category_profile, column_profile, numeric_profile
from inferq.schema import ModelSchema
from inferq.timefmt import now_rfc3339

SAMPLE_ROWS = 10_000
"""Rows of a reference kept to score its predictions (and the size of a provisional one)."""

PREDICTION = "@prediction"
"""The name predictions go by among the serving counts and gauges."""


@dataclass
class Reference:
    """Per-feature profiles (and, once scored, the predictions') of one reference sample."""

    id: str
    source: str
    """`file`, `job` or `provisional` (the first rows scored, before any reference was set)."""
    rows: int
    created_at: str
    features: dict[str, dict[str, Any]]
    prediction: dict[str, Any] | None = None
    job: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def provisional(self) -> bool:
        """Taken from the first rows scored rather than set by the model's owner."""
        return self.source == "provisional"

    def to_json(self) -> bytes:
        """The stored form (without the prediction profile, which is stored on its own)."""
        data = asdict(self)
        data.pop("prediction")
        return orjson.dumps(data)

    @classmethod
    def from_json(cls, raw: bytes | str, prediction: bytes | str | None) -> Reference:
        """Rebuild from `to_json` and the stored prediction profile (if there is one yet)."""
        data = orjson.loads(raw)
        return cls(**data, prediction=orjson.loads(prediction) if prediction else None)

    def summary(self) -> dict[str, Any]:
        """What the monitoring answer says about the reference."""
        return {
            "id": self.id,
            "source": self.source,
            "provisional": self.provisional,
            "job": self.job,
            "rows": self.rows,
            "created_at": self.created_at,
        }


def build_reference(
    frame: pd.DataFrame, schema: ModelSchema, source: str, bins: int, job: str | None = None
) -> Reference:
    """The feature profiles of `frame` (its model features; other columns are ignored)."""
    kinds = {f.name: f.type for f in schema.features}
    return Reference(
        id=secrets.token_hex(6),
        source=source,
        rows=len(frame),
        created_at=now_rfc3339(),
        features={n: column_profile(frame[n].to_numpy(), kinds[n], bins) for n in kinds},
        job=job,
    )


def prediction_profile(predictions: Any, schema: ModelSchema, bins: int) -> dict[str, Any]:
    """Class shares for a classifier, quantile bins for a regressor."""
    if schema.task == "classification":
        return category_profile(predictions)
    return numeric_profile(predictions, bins)


def sample_columns(frame: pd.DataFrame, names: list[str], rows: int = SAMPLE_ROWS) -> bytes:
    """At most `rows` rows of the named columns as JSON columns (NaN as null)."""
    if len(frame) > rows:
        frame = frame.sample(n=rows, random_state=0)
    part = frame[names].astype(object).where(frame[names].notna(), None)
    return orjson.dumps({name: part[name].tolist() for name in names})


def sample_frame(raw: bytes | str, schema: ModelSchema) -> pd.DataFrame:
    """A stored sample as a frame typed like scored rows (numbers float64, missing as NaN)."""
    columns = orjson.loads(raw)
    strings = schema.string_features
    return pd.DataFrame(
        {
            name: np.array(columns[name], dtype=object if name in strings else np.float64)
            for name in schema.feature_names
        }
    )


class ReferenceStore:
    """Stores and reads reference profiles; shared by the API and the workers."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def save(self, name: str, version: int, ref: Reference, sample: bytes) -> None:
        """Make `ref` the version's reference (replacing any), with its sample to score."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(keys.reference(name, version), ref.to_json())
        pipe.set(keys.reference_sample(name, version, ref.id), sample)
        pipe.delete(keys.provisional_rows(name, version), keys.provisional_sample(name, version))
        pipe.execute()

    def save_provisional(self, name: str, version: int, ref: Reference) -> bool:
        """Store a provisional reference unless one (of any kind) exists; True if stored."""
        created = bool(self.redis.set(keys.reference(name, version), ref.to_json(), nx=True))
        self.redis.delete(keys.provisional_sample(name, version))
        return created

    def load(self, name: str, version: int) -> Reference | None:
        """The version's reference with its prediction profile if scored yet; None if unset."""
        raw = self.redis.get(keys.reference(name, version))
        if raw is None:
            return None
        ref_id = orjson.loads(raw)["id"]
        prediction = self.redis.get(keys.reference_predictions(name, version, ref_id))
        return Reference.from_json(raw, prediction)

    def sample(self, name: str, version: int, ref_id: str) -> bytes | None:
        """The reference's stored sample, while its predictions are not scored yet."""
        raw = self.redis.get(keys.reference_sample(name, version, ref_id))
        return raw.encode() if isinstance(raw, str) else raw

    def set_predictions(
        self, name: str, version: int, ref_id: str, profile: dict[str, Any]
    ) -> None:
        """Store a reference's prediction profile (the first one stored stays) and drop its
        sample."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(keys.reference_predictions(name, version, ref_id), orjson.dumps(profile), nx=True)
        pipe.delete(keys.reference_sample(name, version, ref_id))
        pipe.execute()
