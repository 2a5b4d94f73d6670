"""Reading a CSV header and checking a file's columns against the model before any scoring."""

from __future__ import annotations

import csv
import io
from collections import Counter
from typing import Any

from inferq.problems import InputProblem
from inferq.schema import ModelSchema

BOM = b"\xef\xbb\xbf"


def parse_header(line: bytes) -> list[str]:
    """Column names of a CSV header record (BOM, quotes and line end handled)."""
    text = line.removeprefix(BOM).decode("utf-8", errors="replace")
    # Read as a stream, not split into lines: a quoted name may hold a newline.
    return next(csv.reader(io.StringIO(text, newline="")), [])


def check_columns(
    columns: list[str], schema: ModelSchema, passthrough: list[str], where: str
) -> None:
    """422 naming each feature or passthrough column the file lacks, or that it repeats.

    Other columns are ignored: files from real systems carry more than a model needs.
    """
    present = Counter(columns)
    errors: list[dict[str, Any]] = []
    for name in dict.fromkeys([*schema.feature_names, *passthrough]):
        kind = "feature" if name in schema.feature_names else "passthrough"
        if present[name] == 0:
            errors.append({"loc": [where, name], "msg": f"missing {kind} column"})
        elif present[name] > 1:
            errors.append({"loc": [where, name], "msg": f"{kind} column appears more than once"})
    if errors:
        raise InputProblem("Input columns do not match the model", errors)
