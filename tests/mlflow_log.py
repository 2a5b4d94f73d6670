"""Log or save MLflow models with the mlflow client; run by the MLflow virtualenv's Python.

`python tests/mlflow_log.py log <tracking_uri> <kind> <registered name> [alias]` prints
`{"run_id": ..., "version": ...}`; `python tests/mlflow_log.py save <folder> <kind>` saves a
model directory. Kinds: `lightgbm` (a native booster), `sklearn` (saved with skops),
`sklearn-pickle` (cloudpickle), `pyfunc` (a custom Python model: no flavor inferq loads).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np
import pandas as pd

FEATURES = ["tenure", "spend", "visits"]


def _data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(120, 3)), columns=FEATURES)
    return frame, ((frame["tenure"] + frame["spend"]) > 0).astype(int).to_numpy()


def _model(kind: str) -> tuple[Any, Any]:
    """The model of `kind` and its MLflow flavor module."""
    import mlflow

    frame, target = _data()
    if kind == "lightgbm":
        import lightgbm as lgb

        params = {"objective": "binary", "verbose": -1, "min_data_in_leaf": 5}
        return lgb.train(params, lgb.Dataset(frame, label=target), 8), mlflow.lightgbm
    if kind.startswith("sklearn"):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression().fit(frame, target), mlflow.sklearn

    class Doubler(mlflow.pyfunc.PythonModel):  # type: ignore[name-defined,misc]
        def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
            return model_input * 2

    return Doubler(), mlflow.pyfunc


def _save_arguments(kind: str, model: Any) -> dict[str, Any]:
    if kind == "pyfunc":
        return {"python_model": model}
    if kind == "lightgbm":
        return {"lgb_model": model}
    if kind == "sklearn-pickle":
        return {"sk_model": model, "serialization_format": "cloudpickle"}
    return {"sk_model": model}


def _signature() -> Any:
    from mlflow.models import infer_signature

    frame, target = _data()
    return infer_signature(frame, target)


def log(uri: str, kind: str, name: str, alias: str) -> None:
    """Log the model in a run, register it as `name`, point `alias` at the new version."""
    import mlflow

    mlflow.set_tracking_uri(uri)
    model, flavor = _model(kind)
    with mlflow.start_run() as run:
        info = flavor.log_model(
            name="model",
            signature=_signature(),
            registered_model_name=name,
            **_save_arguments(kind, model),
        )
    version = str(info.registered_model_version)
    if alias:
        mlflow.MlflowClient().set_registered_model_alias(name, alias, version)
    print(json.dumps({"run_id": run.info.run_id, "version": version}))


def save(folder: str, kind: str) -> None:
    """Save the model of `kind` as an MLflow model directory."""
    model, flavor = _model(kind)
    flavor.save_model(path=folder, signature=_signature(), **_save_arguments(kind, model))


if __name__ == "__main__":
    if sys.argv[1] == "log":
        log(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] if len(sys.argv) > 5 else "")
    else:
        save(sys.argv[2], sys.argv[3])
