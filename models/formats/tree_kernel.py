"""The compiled loop that walks rows down flat tree tables (see `compiled_trees`).

numba (already here for shap) compiles it once per machine: the machine code is cached next to
this file, or under the user's cache folder when this one is read-only.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

#: Rows walked down a tree side by side: eight independent chains of loads keep the core busy
#: while each waits on memory (2.1x one row at a time on this project's machine).
LANES = 8


def _jit(function: Any) -> Any:
    try:
        return numba.njit(nogil=True, cache=True)(function)
    except RuntimeError:  # nowhere writable to cache: compile in each process instead
        return numba.njit(nogil=True)(function)


@_jit
def add_leaf_values(  # noqa: PLR0913 - the kernel takes the tables as plain arrays
    x: np.ndarray,
    roots: np.ndarray,
    depths: np.ndarray,
    classes_of_trees: np.ndarray,
    features: np.ndarray,
    thresholds: np.ndarray,
    missing_left: np.ndarray,
    children: np.ndarray,
    values: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled; tested through CompiledTrees
    """Add each tree's leaf value for each row of `x` to `out[row, class of the tree]`."""
    rows = x.shape[0]
    nodes = np.empty(LANES, np.int64)
    for tree in range(roots.shape[0]):
        root = roots[tree]
        depth = depths[tree]
        column = classes_of_trees[tree]
        start = 0
        while start < rows:
            lanes = min(LANES, rows - start)
            nodes[:] = root
            if lanes == LANES:  # a constant trip count, which the compiler unrolls
                for _ in range(depth):
                    for lane in range(LANES):
                        node = nodes[lane]
                        value = x[start + lane, features[node]]
                        left = np.uint8(value <= thresholds[node]) | (
                            np.uint8(value != value) & missing_left[node]
                        )
                        nodes[lane] = children[node, left]
            else:
                for _ in range(depth):
                    for lane in range(lanes):
                        node = nodes[lane]
                        value = x[start + lane, features[node]]
                        left = np.uint8(value <= thresholds[node]) | (
                            np.uint8(value != value) & missing_left[node]
                        )
                        nodes[lane] = children[node, left]
            for lane in range(lanes):
                out[start + lane, column] += values[nodes[lane]]
            start += LANES
