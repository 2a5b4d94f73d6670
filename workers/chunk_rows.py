"""The rows of one chunk as read from a file: good rows ready to score, bad ones reported."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.csv as pacsv

from inferq.schema import ModelSchema

#: Texts read as a missing value, the same ones Arrow's CSV reader treats as null.
NULL_TEXTS = frozenset(pacsv.ConvertOptions().null_values)
MISSING = "missing value, and the model does not accept missing values"
NOT_FINITE = "expected a finite number"


@dataclass
class ChunkRows:
    """Good rows (features and passthrough columns) and one error per bad value or record."""

    frame: pd.DataFrame
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> int:
        """Rows with at least one error (a row may have several)."""
        key = "line" if self.errors and "line" in self.errors[0] else "row"
        return len({error[key] for error in self.errors})


def wanted_columns(schema: ModelSchema, passthrough: list[str]) -> list[str]:
    """The columns a chunk needs: features in fitted order, then passthrough ones."""
    return list(dict.fromkeys([*schema.feature_names, *passthrough]))


def check_text_rows(
    texts: dict[str, list[str]],
    places: list[int],
    schema: ModelSchema,
    key: str,
    errors: list[dict[str, Any]],
) -> pd.DataFrame:
    """Convert text columns to model inputs; bad values become errors at `places` (key: line).

    Returns the rows without errors; `errors` gets one entry per bad value.
    """
    frame = pd.DataFrame({name: pd.Series(values, dtype=object) for name, values in texts.items()})
    bad = np.zeros(len(places), dtype=bool)
    for name in schema.feature_names:
        if name in schema.string_features:
            continue
        raw = frame[name]
        numbers = pd.to_numeric(raw.where(~raw.isin(NULL_TEXTS)), errors="coerce")
        missing = raw.isin(NULL_TEXTS).to_numpy()
        unparsable = (numbers.isna().to_numpy()) & ~missing
        infinite = np.isinf(numbers.to_numpy(dtype=float, na_value=np.nan))
        problems = [(unparsable, None), (infinite, NOT_FINITE)]
        if not schema.allow_nan:
            problems.append((missing, MISSING))
        for mask, msg in problems:
            for position in np.flatnonzero(mask):
                text = msg or f"expected a number, got {raw.iat[position]!r}"
                errors.append({key: places[position], "column": name, "msg": text})
            bad |= mask
        frame[name] = numbers.astype("float64")
    errors.sort(key=lambda error: error[key])
    return frame.loc[~bad].reset_index(drop=True)
