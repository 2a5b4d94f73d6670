"""The compiled loop that walks rows down flat tree tables (see `compiled_trees`).

numba (already here for shap) compiles it once per machine (`inferq.compiled`).
"""

from __future__ import annotations

import numpy as np

from inferq.compiled import compiled

#: Columns of a node's row in the `nodes` table.
FEATURE, RIGHT, LEFT, MISSING_LEFT = 0, 1, 2, 3


@compiled(inline="always")
def _step(
    x: np.ndarray, row: int, node: int, thresholds: np.ndarray, nodes: np.ndarray, missing: bool
) -> int:  # pragma: no cover - compiled
    """The child a row goes to: LEFT when `x <= threshold`, or when missing and so told."""
    value = x[row, nodes[node, FEATURE]]
    left = np.uint8(value <= thresholds[node])
    if missing:  # a constant per call: the compiler makes one loop with this, one without
        left |= np.uint8(value != value) & np.uint8(nodes[node, MISSING_LEFT])
    return nodes[node, RIGHT + left]


@compiled(nogil=True)
def add_leaf_values(  # noqa: PLR0913 - the kernel takes the tables as plain arrays
    x: np.ndarray,
    roots: np.ndarray,
    depths: np.ndarray,
    classes_of_trees: np.ndarray,
    thresholds: np.ndarray,
    nodes: np.ndarray,
    values: np.ndarray,
    out: np.ndarray,
    missing: bool,
) -> None:  # pragma: no cover - compiled; tested through CompiledTrees
    """Add each tree's leaf value for each row of `x` to `out[row, class of the tree]`.

    Eight rows go down a tree side by side, each in its own variable: eight independent chains
    of loads keep the core busy while each waits (2.1x one row at a time on this project's
    machine; `missing` False, for rows without NaN, saves another quarter).
    """
    rows = x.shape[0]
    for tree in range(roots.shape[0]):
        root, depth, column = roots[tree], depths[tree], classes_of_trees[tree]
        start = 0
        while start + 8 <= rows:
            n0 = n1 = n2 = n3 = n4 = n5 = n6 = n7 = root
            for _ in range(depth):
                n0 = _step(x, start, n0, thresholds, nodes, missing)
                n1 = _step(x, start + 1, n1, thresholds, nodes, missing)
                n2 = _step(x, start + 2, n2, thresholds, nodes, missing)
                n3 = _step(x, start + 3, n3, thresholds, nodes, missing)
                n4 = _step(x, start + 4, n4, thresholds, nodes, missing)
                n5 = _step(x, start + 5, n5, thresholds, nodes, missing)
                n6 = _step(x, start + 6, n6, thresholds, nodes, missing)
                n7 = _step(x, start + 7, n7, thresholds, nodes, missing)
            for lane, node in enumerate((n0, n1, n2, n3, n4, n5, n6, n7)):
                out[start + lane, column] += values[node]
            start += 8
        while start < rows:
            node = root
            for _ in range(depth):
                node = _step(x, start, node, thresholds, nodes, missing)
            out[start, column] += values[node]
            start += 1
