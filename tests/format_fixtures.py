"""Small models in every format inferq loads, trained on the same rows, for format tests."""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import onnx
import pandas as pd
import xgboost as xgb
from onnx import TensorProto, helper
from skl2onnx import to_onnx
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline

FEATURES = ["tenure", "spend", "visits"]


def rows(count: int = 120, seed: int = 0) -> pd.DataFrame:
    """Numeric rows with the three features."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(count, 3)), columns=FEATURES)


def binary_target(frame: pd.DataFrame) -> np.ndarray:
    """0/1 from the first two features."""
    return ((frame["tenure"] + frame["spend"]) > 0).astype(int).to_numpy()


def three_classes(frame: pd.DataFrame) -> np.ndarray:
    """0, 1 or 2 from the first feature."""
    return np.digitize(frame["tenure"], [-0.5, 0.5])


def xgboost_booster(objective: str, frame: pd.DataFrame | None = None) -> xgb.Booster:
    """A small booster with `objective`, fitted with feature names."""
    frame = rows() if frame is None else frame
    params: dict[str, Any] = {"objective": objective, "max_depth": 3, "nthread": 1}
    if objective.startswith("multi:"):
        params["num_class"] = 3
        label = three_classes(frame)
    elif objective.startswith("binary:"):
        label = binary_target(frame)
    else:
        label = frame["visits"].to_numpy()
    return xgb.train(params, xgb.DMatrix(frame, label=label), num_boost_round=8)


def lightgbm_booster(objective: str, frame: pd.DataFrame | None = None) -> lgb.Booster:
    """A small booster with `objective`, fitted with feature names."""
    frame = rows() if frame is None else frame
    params: dict[str, Any] = {"objective": objective, "verbose": -1, "num_threads": 1}
    params["min_data_in_leaf"] = 5
    if objective.startswith("multiclass"):
        params["num_class"] = 3
        label = three_classes(frame)
    elif objective == "binary":
        label = binary_target(frame)
    else:
        label = frame["visits"].to_numpy()
    return lgb.train(params, lgb.Dataset(frame, label=label), num_boost_round=8)


def lightgbm_text(objective: str = "binary") -> bytes:
    """A booster's text model."""
    return lightgbm_booster(objective).model_to_string().encode()


def onnx_classifier(zipmap: bool = True, integer_labels: bool = False) -> tuple[bytes, Any]:
    """A logistic regression (labels "churn"/"stay", or 0/1) as one `[N, 3]` float tensor graph."""
    frame = rows()
    target = binary_target(frame)
    labels = target if integer_labels else np.where(target == 1, "churn", "stay")
    model = LogisticRegression().fit(frame.to_numpy(), labels)
    graph = to_onnx(
        model, frame.to_numpy(dtype=np.float32)[:1], options={id(model): {"zipmap": zipmap}}
    )
    return graph.SerializeToString(), model


def onnx_per_feature_regressor() -> tuple[bytes, Any]:
    """A ridge regression whose graph takes one `[N, 1]` tensor per named feature."""
    frame = rows()
    selector = ColumnTransformer([("all", "passthrough", FEATURES)])
    model = make_pipeline(selector, Ridge()).fit(frame, frame["visits"] * 2 + 1)
    return to_onnx(model, frame.astype(np.float32)[:1]).SerializeToString(), model


def onnx_with_external_data() -> bytes:
    """A graph whose weight tensor says it lives in a file beside the model."""
    weight = helper.make_tensor("w", TensorProto.FLOAT, [3, 1], [0.0, 0.0, 0.0])
    weight.data_location = TensorProto.EXTERNAL
    del weight.float_data[:]
    entry = weight.external_data.add()
    entry.key, entry.value = "location", "weights.bin"
    node = helper.make_node("MatMul", ["X", "w"], ["y"])
    graph = helper.make_graph(
        [node],
        "external",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])],
        initializer=[weight],
    )
    return onnx.helper.make_model(graph).SerializeToString()
