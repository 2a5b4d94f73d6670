"""The compiled loop that counts a batch's numbers into their reference bins (see `serving`)."""

from __future__ import annotations

import numpy as np

from inferq.compiled import compiled


@compiled(nogil=True)
def count_numbers(  # noqa: PLR0913 - the kernel takes the layout as plain arrays
    numbers: np.ndarray,
    edges: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    starts: np.ndarray,
    missing: np.ndarray,
    vector: np.ndarray,
) -> None:  # pragma: no cover - compiled; tested through Layout.fold
    """Add each value of `numbers[:, c]` to column c's slots of `vector`: its bin (the count of
    inner `edges[c]` at or below it; +inf pads), else its missing slot; and the outside slot
    after it when beyond `[low[c], high[c]]`."""
    rows, columns = numbers.shape
    for row in range(rows):
        for column in range(columns):
            value = numbers[row, column]
            if value != value:
                vector[missing[column]] += 1
                continue
            below = 0
            for edge in range(edges.shape[1]):
                below += value >= edges[column, edge]
            vector[starts[column] + below] += 1
            if value < low[column] or value > high[column]:
                vector[missing[column] + 1] += 1
