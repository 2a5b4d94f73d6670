"""Approximate contributions of a LightGBM booster: Saabas path attributions.

Each row's path is walked once per tree, by LightGBM itself (`pred_leaf`), so its categorical
splits, missing-value rules and default directions pick the path exactly as they pick the
prediction. What each leaf's path attributes is read once per model from `dump_model()`: going
down from the root, the change in the node's value at each split is credited to the split's
feature, and the root's value is the bias. A node's value is the count-weighted mean of its
leaves, the expected value LightGBM's own TreeSHAP uses, so the bias equals the exact bias, and
a row's attributions telescope to the sum of its leaves: the raw score.

Why not shap's Saabas (`approximate=True`): shap refuses it for LightGBM boosters, and its own
tree walk reads no categorical splits and would have to repeat LightGBM's missing-value rules.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
from scipy import sparse

from models.formats.base import ContributionsUnsupported

#: Rows per `pred_leaf` call, which bounds the leaf matrix (12 bytes per row and tree).
_SLICE_ROWS = 20_000


class PathAttributions:
    """Saabas contributions of one booster: `[N, F + 1]` (bias last), or `[N, classes, F + 1]`."""

    def __init__(self, booster: lgb.Booster) -> None:
        dump = booster.dump_model()
        self.booster = booster
        self.width = int(dump["max_feature_idx"]) + 2  # the features, then the bias
        self.classes = int(dump["num_tree_per_iteration"])
        self.first_leaf, self.credits = _credits(dump["tree_info"], self.classes, self.width)

    def compute(self, x: np.ndarray) -> np.ndarray:
        """Each row's attributions, per class for a multiclass booster."""
        parts = [
            self._slice(x[start : start + _SLICE_ROWS]) for start in range(0, len(x), _SLICE_ROWS)
        ]
        found = np.concatenate(parts) if parts else np.zeros((0, self.classes * self.width))
        return found.reshape(len(found), self.classes, self.width) if self.classes > 1 else found

    def _slice(self, x: np.ndarray) -> np.ndarray:
        leaves = np.asarray(self.booster.predict(x, pred_leaf=True, num_threads=1), np.int64)
        leaves = leaves.reshape(len(x), -1)
        trees = leaves.shape[1]
        # One 1 per (row, tree), in the row of the credits for the leaf the row reached: the
        # product sums, per row, the credits of its leaves.
        reached = leaves + self.first_leaf[None, :trees]
        hits = sparse.csr_matrix(
            (np.ones(reached.size), reached.ravel(), np.arange(0, reached.size + 1, trees)),
            shape=(len(x), self.credits.shape[0]),
        )
        # Not averaged in random forest mode: like `pred_contrib`, they add up to the raw score.
        return np.asarray((hits @ self.credits).toarray())


def _credits(
    trees: list[dict[str, Any]], classes: int, width: int
) -> tuple[np.ndarray, sparse.csr_matrix]:
    """Each tree's first row, and one row per leaf of every tree: its path's credits, in the
    columns of its tree's class (trees take turns by class)."""
    rows: list[int] = []
    columns: list[int] = []
    values: list[float] = []
    first_leaf = [0]
    for index, tree in enumerate(trees):
        offset = (index % classes) * width
        for leaf, credit in _path_credits(tree["tree_structure"], width - 1).items():
            rows += [first_leaf[-1] + leaf] * len(credit)
            columns += [offset + column for column in credit]
            values += credit.values()
        first_leaf.append(first_leaf[-1] + int(tree["num_leaves"]))
    shape = (first_leaf[-1], classes * width)
    matrix = sparse.csr_matrix((values, (rows, columns)), shape=shape)
    return np.asarray(first_leaf[:-1], dtype=np.int64), matrix


def _path_credits(root: dict[str, Any], bias: int) -> dict[int, dict[int, float]]:
    """Per leaf index, what its path credits to each feature (and to the bias column)."""
    value = _node_values(root)
    found: dict[int, dict[int, float]] = {}
    stack: list[tuple[dict[str, Any], dict[int, float]]] = [(root, {bias: value[id(root)]})]
    while stack:
        node, credit = stack.pop()
        if _is_leaf(node):
            found[int(node.get("leaf_index", 0))] = credit  # a one-leaf tree's has no index
            continue
        feature = int(node["split_feature"])
        for child in (node["left_child"], node["right_child"]):
            passed = dict(credit)
            passed[feature] = passed.get(feature, 0.0) + value[id(child)] - value[id(node)]
            stack.append((child, passed))
    return found


def _node_values(root: dict[str, Any]) -> dict[int, float]:
    """Each node's value by `id()`: a leaf's own, else the count-weighted mean of its leaves."""
    order, stack = [], [root]
    while stack:  # parents before children; read backwards, children before parents
        node = stack.pop()
        order.append(node)
        if not _is_leaf(node):
            stack += [node["left_child"], node["right_child"]]
    value: dict[int, float] = {}
    weight: dict[int, float] = {}
    for node in reversed(order):
        if _is_leaf(node):
            if node.get("leaf_coeff"):  # a linear tree's leaf is a function of the row
                raise ContributionsUnsupported("LightGBM models with linear trees")
            value[id(node)] = float(node["leaf_value"])
            weight[id(node)] = float(node.get("leaf_count", 0))
            continue
        left, right = id(node["left_child"]), id(node["right_child"])
        weight[id(node)] = weight[left] + weight[right]
        value[id(node)] = (
            (weight[left] * value[left] + weight[right] * value[right]) / weight[id(node)]
            if weight[id(node)] > 0
            else float(node["internal_value"])  # no counts saved: LightGBM's own node value
        )
    return value


def _is_leaf(node: dict[str, Any]) -> bool:
    return "split_feature" not in node
