"""Demo models in the non-scikit-learn formats: a LightGBM booster and an ONNX graph.

Both are built in well under a second from data scikit-learn ships, without a converter: the
ONNX graph is written node by node from a fitted logistic regression.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.datasets import load_iris, load_wine
from sklearn.linear_model import LogisticRegression

#: A demo's artifact, its format, and what its model.json adds (classes, feature names).
DemoArtifact = tuple[bytes, str, dict[str, Any]]


def train_wine_lightgbm() -> DemoArtifact:
    """A LightGBM booster naming one of three wine cultivars from 13 measurements."""
    import lightgbm as lgb

    from models.demo_data import demo_frame

    frame, target = demo_frame(load_wine)
    classes = sorted(target.unique())
    label = target.map({name: i for i, name in enumerate(classes)}).to_numpy()
    params = {"objective": "multiclass", "num_class": 3, "verbose": -1, "num_threads": 1}
    booster = lgb.train(params, lgb.Dataset(frame, label=label), num_boost_round=30)
    return booster.model_to_string().encode(), "lightgbm", {"classes": classes}


def build_iris_onnx() -> DemoArtifact:
    """A multinomial logistic regression on iris as an ONNX graph with one input per feature."""
    import onnx
    from onnx import TensorProto, helper

    from models.demo_data import demo_frame

    frame, target = demo_frame(load_iris)
    model = LogisticRegression(max_iter=1000).fit(frame.to_numpy(), target)
    names = list(frame.columns)
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [None, 1]) for n in names]
    nodes = [
        helper.make_node("Concat", names, ["features"], axis=1),
        helper.make_node(
            "LinearClassifier",
            ["features"],
            ["label", "probabilities"],
            domain="ai.onnx.ml",
            coefficients=np.asarray(model.coef_, dtype=np.float32).ravel().tolist(),
            intercepts=np.asarray(model.intercept_, dtype=np.float32).tolist(),
            classlabels_strings=[str(c) for c in model.classes_],
            multi_class=1,
            post_transform="SOFTMAX",
        ),
    ]
    outputs = [
        helper.make_tensor_value_info("label", TensorProto.STRING, [None]),
        helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 3]),
    ]
    graph = helper.make_graph(nodes, "iris_logistic", inputs, outputs)
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)]
    onnx_model = helper.make_model(graph, opset_imports=opsets, ir_version=8)
    onnx.checker.check_model(onnx_model)
    return onnx_model.SerializeToString(), "onnx", {}
