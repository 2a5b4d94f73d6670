"""The process that loads and tries uploaded artifacts, so their code never runs in the API.

`python -m models.check_child <folder> <memory_mb>`: reads `<folder>/requests.json` (a list of
artifacts to check), writes `<folder>/results.json` (one result per request, in order).
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path
from typing import Any

import orjson


def limit_memory(megabytes: int) -> None:
    """Cap this process's address space, before any artifact is read."""
    if megabytes > 0:
        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def check_one(request: dict[str, Any]) -> dict[str, Any]:
    """Load one artifact, read its schema and predict a sample row; the outcome as JSON."""
    from models.artifacts import load_artifact
    from models.sample import sample_frame
    from models.schema import SchemaError, describe

    data = Path(request["artifact"]).read_bytes()
    try:
        estimator = load_artifact(data, request["format"], request["trusted_types"])
    except Exception as exc:  # whatever a broken artifact raises is the uploader's answer
        return _failure("file", f"cannot load the artifact: {exc}")
    try:
        schema = describe(estimator, request["feature_names"] or None, request["feature_types"])
    except SchemaError as exc:
        return _failure("feature_names", str(exc))
    except Exception as exc:  # not a fitted scikit-learn estimator
        return _failure("file", f"cannot read the model's schema: {type(exc).__name__}: {exc}")
    try:
        prediction = _try_predict(estimator, sample_frame(estimator, schema), schema.classes)
    except Exception as exc:  # the model cannot score a plausible row: refuse it
        return _failure("file", f"predicting a sample row failed: {type(exc).__name__}: {exc}")
    return {"ok": True, "schema": schema.to_dict(), "sample_prediction": prediction}


def _try_predict(estimator: Any, frame: Any, classes: list[Any] | None) -> Any:
    predicted = estimator.predict(frame)
    if len(predicted) != 1:
        raise ValueError(f"one row gave {len(predicted)} predictions")
    if classes is not None and hasattr(estimator, "predict_proba"):
        estimator.predict_proba(frame)
    value = predicted[0]
    return value.item() if hasattr(value, "item") else value


def _failure(loc: str, msg: str) -> dict[str, Any]:
    return {"ok": False, "loc": loc, "error": msg}


def main(argv: list[str]) -> int:
    """Check every request in the folder; exit 0 once results are written."""
    folder, megabytes = Path(argv[0]), int(argv[1])
    limit_memory(megabytes)
    requests = orjson.loads((folder / "requests.json").read_bytes())
    results = [check_one(request) for request in requests]
    (folder / "results.json").write_bytes(orjson.dumps(results, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
