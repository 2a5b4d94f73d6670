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
    from models.formats import FormatError, LoadOptions, load_model
    from models.schema import SchemaError

    data = Path(request["artifact"]).read_bytes()
    options = LoadOptions(
        request["trusted_types"], request["feature_names"], request.get("classes") or None
    )
    try:
        runtime = load_model(data, request["format"], options)
        schema = runtime.describe(request["feature_types"])
    except FormatError as exc:
        return _failure(exc.loc, exc.msg)
    except SchemaError as exc:
        return _failure("feature_names", str(exc))
    except Exception as exc:  # whatever a broken artifact raises is the uploader's answer
        return _failure("file", f"cannot load the artifact: {type(exc).__name__}: {exc}")
    try:
        prediction = _try_predict(runtime, schema)
    except Exception as exc:  # the model cannot score a plausible row: refuse it
        return _failure("file", f"predicting a sample row failed: {type(exc).__name__}: {exc}")
    return {"ok": True, "schema": schema.to_dict(), "sample_prediction": prediction}


def _try_predict(runtime: Any, schema: Any) -> Any:
    from models.sample import sample_frame

    frame = sample_frame(getattr(runtime, "estimator", None), schema)
    predicted = runtime.predict(frame)
    if len(predicted) != 1:
        raise ValueError(f"one row gave {len(predicted)} predictions")
    if schema.classes is not None and _has_proba(runtime):
        proba = runtime.predict_proba(frame)
        if proba.shape != (1, len(schema.classes)):
            raise ValueError(
                f"probabilities of shape {proba.shape} for {len(schema.classes)} classes"
            )
    if schema.contributions is not None:
        runtime.contributions(frame)
    value = predicted[0]
    return value.item() if hasattr(value, "item") else value


def _has_proba(runtime: Any) -> bool:
    estimator = getattr(runtime, "estimator", runtime)
    return hasattr(estimator, "predict_proba")


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
