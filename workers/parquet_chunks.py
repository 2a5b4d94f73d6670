"""Reading one Parquet chunk: a run of whole row groups, read straight from storage or a URL."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow.parquet as pq

from inferq.schema import ModelSchema
from inferq.storage import Opener, open_url
from workers.chunk_rows import MISSING, NOT_FINITE, ChunkRows, wanted_columns


def read_parquet_chunk(
    url: str,
    row_groups: list[int],
    first_row: int,
    schema: ModelSchema,
    passthrough: list[str],
    opener: Opener = open_url,
) -> ChunkRows:
    """The rows of `row_groups`; errors name the 0-based row of the file.

    Feature columns were checked to be numeric (or strings for category features) at submission.
    """
    wanted = wanted_columns(schema, passthrough)
    with opener(url) as handle:
        table = pq.ParquetFile(handle).read_row_groups(row_groups, columns=wanted)
    frame = table.to_pandas()
    errors: list[dict[str, Any]] = []
    bad = np.zeros(len(frame), dtype=bool)
    for name in schema.feature_names:
        if name in schema.string_features:
            frame[name] = frame[name].astype(object)
            continue
        values = frame[name].to_numpy(dtype="float64", na_value=np.nan)
        for mask, msg in ((np.isnan(values), MISSING), (np.isinf(values), NOT_FINITE)):
            if msg == MISSING and schema.allow_nan:
                continue
            errors += [
                {"row": first_row + int(i), "column": name, "msg": msg}
                for i in np.flatnonzero(mask)
            ]
            bad |= mask
        frame[name] = values
    errors.sort(key=lambda error: error["row"])
    return ChunkRows(frame.loc[~bad].reset_index(drop=True), errors)
