"""Examples for /openapi.json (and so /docs): one per endpoint, plus problem+json errors."""

from __future__ import annotations

from typing import Any

_JOB = {
    "id": "job_01JD5Q3ZB8M2W6R1K4T9X7C0NV",
    "status": "succeeded",
    "model": {"name": "iris", "version": 1},
    "created_at": "2026-11-23T10:00:00.000Z",
    "started_at": "2026-11-23T10:00:00.120Z",
    "finished_at": "2026-11-23T10:00:00.480Z",
    "progress": {"rows_total": 2, "rows_done": 2, "rows_failed": 0},
    "error": None,
    "metadata": {"batch": "nightly"},
    "priority": "normal",
    "outputs": ["prediction"],
    "passthrough": [],
    "links": {
        "self": "http://127.0.0.1:8000/v1/jobs/job_01JD5Q3ZB8M2W6R1K4T9X7C0NV",
        "results": "http://127.0.0.1:8000/v1/jobs/job_01JD5Q3ZB8M2W6R1K4T9X7C0NV/results",
        "errors": "http://127.0.0.1:8000/v1/jobs/job_01JD5Q3ZB8M2W6R1K4T9X7C0NV/errors",
    },
}
_QUEUED = {
    **_JOB,
    "status": "queued",
    "started_at": None,
    "finished_at": None,
    "progress": {"rows_total": 2, "rows_done": 0, "rows_failed": 0},
}
_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
_MODEL_VERSION = {
    "name": "iris",
    "version": 1,
    "format": "skops",
    "created_at": "2026-11-23T09:00:00.000Z",
    "description": "demo",
    "task": "classification",
    "classes": ["setosa", "versicolor", "virginica"],
    "features": [{"name": n, "type": "number"} for n in _FEATURES],
    "accepts_missing_values": False,
    "sha256": "9f2c…",
    "size_bytes": 5120,
}
_MODEL = {
    "name": "iris",
    "aliases": {"production": 1},
    "default_version": 1,
    "latest_version": 1,
    "versions": [_MODEL_VERSION],
}

REQUESTS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("post", "/v1/jobs"): {
        "application/json": {
            "dataframe_split": {
                "summary": "Rows as columns and data",
                "value": {
                    "model": "iris",
                    "outputs": ["prediction", "probabilities"],
                    "dataframe_split": {"columns": _FEATURES, "data": [[5.1, 3.5, 1.4, 0.2]]},
                },
            },
            "dataframe_records": {
                "summary": "Rows as records, with an id passed through",
                "value": {
                    "model": "iris@production",
                    "passthrough": ["id"],
                    "priority": "high",
                    "dataframe_records": [
                        {"id": 7, **dict(zip(_FEATURES, [6.7, 3.0, 5.2, 2.3], strict=True))}
                    ],
                },
            },
            "instances": {
                "summary": "Rows as lists in feature order",
                "value": {
                    "model": "iris@1",
                    "instances": [[5.1, 3.5, 1.4, 0.2]],
                    "metadata": {"batch": "nightly"},
                },
            },
        },
    },
}
RESPONSES: dict[tuple[str, str], dict[str, tuple[str, Any]]] = {
    ("post", "/v1/jobs"): {"202": ("application/json", _QUEUED)},
    ("get", "/v1/jobs"): {"200": ("application/json", {"data": [_JOB], "next_cursor": None})},
    ("get", "/v1/jobs/{job_id}"): {"200": ("application/json", _JOB)},
    ("post", "/v1/jobs/{job_id}/cancel"): {
        "200": ("application/json", {**_QUEUED, "status": "cancelled"})
    },
    ("get", "/v1/jobs/{job_id}/results"): {
        "200": (
            "application/json",
            {"columns": ["prediction"], "data": [["setosa"], ["virginica"]]},
        )
    },
    ("get", "/v1/jobs/{job_id}/errors"): {
        "200": (
            "application/json",
            {
                "data": [
                    {
                        "line": 17,
                        "column": "sepal_length",
                        "msg": "could not convert 'abc' to a number",
                    }
                ]
            },
        )
    },
    ("get", "/v1/jobs/{job_id}/events"): {
        "200": (
            "text/event-stream",
            'id: 1732356000000-0\nevent: status\ndata: {"status": "running"}\n\n'
            "id: 1732356000100-0\nevent: progress\n"
            'data: {"rows_done": "500", "rows_failed": "0"}\n\n',
        )
    },
    ("get", "/v1/models"): {"200": ("application/json", {"data": [_MODEL]})},
    ("get", "/v1/models/{name}"): {"200": ("application/json", _MODEL)},
    ("get", "/v1/models/{name}/versions/{version}"): {"200": ("application/json", _MODEL_VERSION)},
    ("get", "/healthz"): {"200": ("application/json", {"status": "ok"})},
    ("get", "/readyz"): {"200": ("application/json", {"ready": True, "redis": True, "workers": 1})},
}
PROBLEMS = {
    "413": {
        "type": "https://inferq.dev/problems/413",
        "title": "Content Too Large",
        "status": 413,
        "detail": "body of 20971520 bytes is over the limit of 10485760 bytes",
    },
    "404": {
        "type": "https://inferq.dev/problems/404",
        "title": "Job not found",
        "status": 404,
        "detail": "no job job_01JD5Q3ZB8M2W6R1K4T9X7C0NV",
    },
    "409": {
        "type": "https://inferq.dev/problems/409",
        "title": "Conflict",
        "status": 409,
        "detail": "job job_01JD5Q3ZB8M2W6R1K4T9X7C0NV is running; results come when it ends",
    },
    "422": {
        "type": "https://inferq.dev/problems/422",
        "title": "Invalid job request",
        "status": 422,
        "detail": "rows: missing column sepal_width",
        "errors": [
            {"loc": ["body", "dataframe_split", "columns"], "msg": "missing column sepal_width"}
        ],
    },
    "503": {
        "type": "https://inferq.dev/problems/503",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "Redis is unreachable; the request was not accepted",
    },
}


def add_examples(schema: dict[str, Any]) -> dict[str, Any]:
    """Put the examples above into an OpenAPI document; error answers show problem+json."""
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            _request_examples(operation, REQUESTS.get((method, path), {}))
            responses = operation.setdefault("responses", {})
            for status, (media, example) in RESPONSES.get((method, path), {}).items():
                content = responses.setdefault(status, {"description": "OK"}).setdefault(
                    "content", {}
                )
                content.setdefault(media, {})["example"] = example
            for status, problem in PROBLEMS.items():
                if status in responses or (status == "503" and path.startswith("/v1")):
                    _problem(
                        responses.setdefault(status, {"description": problem["title"]}), problem
                    )
    return schema


def _problem_statuses(path: str, responses: dict[str, Any]) -> list[str]:
    """Which problem answers an endpoint documents: the ones it declares, plus likely ones."""
    statuses = {status for status in PROBLEMS if status in responses}
    if path.startswith("/v1"):
        statuses.add("503")
        if "{" in path:
            statuses.add("404")
    if path.endswith("/results"):
        statuses.add("409")
    return sorted(statuses)


def _request_examples(operation: dict[str, Any], examples: dict[str, dict[str, Any]]) -> None:
    content = operation.get("requestBody", {}).get("content", {})
    for media, named in examples.items():
        if media in content:
            content[media]["examples"] = named


def _problem(response: dict[str, Any], problem: dict[str, Any]) -> None:
    response["content"] = {"application/problem+json": {"example": problem}}
