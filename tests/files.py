"""Building messy input files with known bad lines for the file job tests."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import pandas as pd


@dataclass
class MessyCsv:
    """A CSV as real systems write it, with the good rows and the lines that must be reported."""

    data: bytes
    good: pd.DataFrame
    bad_lines: list[int] = field(default_factory=list)


def messy_csv(rows: pd.DataFrame, bad_every: int = 97, blank_every: int = 50) -> MessyCsv:
    """Rows (with an `id`) written with a BOM, CRLF, shuffled columns, quoted commas and newlines.

    Every `bad_every`-th row is spoiled (a missing field or a word where a number belongs) and
    blank lines are sprinkled in; line numbers count physical lines, the header being line 1.
    """
    columns = [*rows.columns[::-1], "note"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    line, good, bad_lines = 2, [], []
    for position, (_, row) in enumerate(rows.iterrows()):
        values = {**row.to_dict(), "note": f'said, "hi"\nrow {position}'}
        if position % blank_every == 7:
            out.write("\r\n")
            line += 1
        record = [values[name] for name in columns]
        if position % bad_every == 3:
            record = record[:-2] if position % 2 else [*record[:1], "abc", *record[2:]]
            bad_lines.append(line)
        else:
            good.append(row)
        writer.writerow(record)
        line += 1 + sum(str(value).count("\n") for value in record)
    data = "\ufeff".encode() + out.getvalue().encode()
    return MessyCsv(data, pd.DataFrame(good).reset_index(drop=True), bad_lines)
