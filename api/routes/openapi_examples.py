"""Examples for /openapi.json (and so /docs): one per endpoint, plus problem+json errors."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from api.errors import PROBLEM_JSON

_BASE = "http://127.0.0.1:8000"
_JOB_ID = "job_01JD5Q3ZB8M2W6R1K4T9X7C0NV"
_JOB_URL = f"{_BASE}/v1/jobs/{_JOB_ID}"
_JOB = {
    "id": _JOB_ID,
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
    "expires_at": "2026-11-30T10:00:00.000Z",
    "attempts": 1,
    "links": {
        "self": _JOB_URL,
        "results": f"{_JOB_URL}/results",
        "errors": f"{_JOB_URL}/errors",
        "events": f"{_JOB_URL}/events",
        "cancel": f"{_JOB_URL}/cancel",
    },
}
_QUEUED = {
    **_JOB,
    "status": "queued",
    "started_at": None,
    "finished_at": None,
    "progress": {"rows_total": 2, "rows_done": 0, "rows_failed": 0},
    "attempts": 0,
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
    "shared": True,
    "trusted_types": [],
}
_MODEL = {
    "name": "iris",
    "aliases": {"production": 1},
    "default_version": 1,
    "latest_version": 1,
    "versions": [_MODEL_VERSION],
    "ready": True,
    "model_version_status": [
        {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
    ],
}
_UPLOADED = {
    **_MODEL_VERSION,
    "name": "churn",
    "version": 2,
    "description": "plan churn, retrained",
    "classes": ["no", "yes"],
    "features": [{"name": "plan", "type": "string"}, {"name": "age", "type": "number"}],
    "shared": False,
}
_SECRET = {
    "id": "whs_01JD5Q3ZB8M2W6R1K4T9X7C0NV",
    "created_at": "2026-11-23T10:00:00.000Z",
    "expires_at": None,
    "current": True,
}
_OLD_SECRET = {
    "id": "whs_01JD5PZ2Q4V8K1M7R3T6W9X0AB",
    "created_at": "2026-11-01T08:00:00.000Z",
    "expires_at": "2026-11-24T10:00:00.000Z",
    "current": False,
}
_DELIVERIES_URL = f"{_JOB_URL}/deliveries"
_DELIVERY = {
    "id": "msg_01JD5Q3ZB8M2W6R1K4T9X7C0NV",
    "event": "job.succeeded",
    "url": "https://crm.example.com/hooks",
    "status": "succeeded",
    "created_at": "2026-11-23T10:00:00.480Z",
    "next_attempt_at": None,
    "attempts": [
        {
            "number": 1,
            "at": "2026-11-23T10:00:00.510Z",
            "trigger": "scheduled",
            "status_code": 503,
            "latency_ms": 41.7,
            "error": None,
            "response": "busy",
            "next_attempt_at": "2026-11-23T10:00:05.510Z",
        },
        {
            "number": 2,
            "at": "2026-11-23T10:00:05.530Z",
            "trigger": "scheduled",
            "status_code": 200,
            "latency_ms": 12.3,
            "error": None,
            "response": "ok",
            "next_attempt_at": None,
        },
    ],
    "links": {
        "self": _DELIVERIES_URL,
        "redeliver": f"{_DELIVERIES_URL}/msg_01JD5Q3ZB8M2W6R1K4T9X7C0NV/redeliver",
    },
}
_KEY = {
    "id": "key_01JD5Q3ZB8M2W6R1K4T9X7C0NV",
    "tenant": "acme",
    "scopes": ["jobs:write", "jobs:read"],
    "name": "crm",
    "created_at": "2026-11-23T10:00:00.000Z",
    "hint": "iqk_Zm9v",
}
_USED = {
    "jobs": 1204,
    "sync_requests": 88120,
    "rows_scored": 4211877,
    "rows_failed": 12,
    "cpu_seconds": 311.52,
    "bytes_in": 905113322,
    "bytes_out": 210117001,
}
_USAGE = {
    "tenant": "acme",
    "from": "2025-06-01",
    "to": "2025-06-30",
    "group_by": "model",
    "data": [{"model": "churn", **_USED}],
    "total": _USED,
}
_LIMITS = {
    "tenant": "acme",
    "limits": {
        "max_rows_per_job": 10_000_000,
        "max_jobs_in_flight": 5,
        "rate_limit_per_second": 20.0,
        "rate_limit_burst": 40,
    },
    "own": ["max_jobs_in_flight"],
    "jobs_in_flight": 2,
}
_CSV = (
    "id,sepal_length,sepal_width,petal_length,petal_width\n7,5.1,3.5,1.4,0.2\n8,6.7,3.0,5.2,2.3\n"
)
_JSONL = (
    '{"id": 7, "sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}\n'
)

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
            "input_uri": {
                "summary": "A file the workers read (options as JSON fields)",
                "value": {
                    "model": "iris",
                    "input_uri": "s3://acme-data/2026-11-23/rows.csv",
                    "passthrough": ["id"],
                    "webhook": {"url": "https://crm.example.com/hooks"},
                },
            },
        },
        "text/csv": {
            "csv": {
                "summary": "A CSV file; options in the query (?model=iris&passthrough=id)",
                "value": _CSV,
            }
        },
        "application/x-ndjson": {
            "jsonl": {
                "summary": "JSON Lines, one row a line; options in the query (?model=iris)",
                "value": _JSONL,
            }
        },
        "multipart/form-data": {
            "form": {
                "summary": "A browser form: the file and option fields",
                "value": {"file": _CSV, "model": "iris", "passthrough": "id"},
            }
        },
    },
    ("post", "/v1/models/{name}/versions"): {
        "multipart/form-data": {
            "skops": {
                "summary": "A skops artifact, pointed at by the alias `staging`",
                "value": {
                    "file": "<the artifact's bytes>",
                    "format": "skops",
                    "description": "plan churn, retrained",
                    "alias": "staging",
                },
            }
        }
    },
    ("put", "/v1/models/{name}/aliases/{alias}"): {
        "application/json": {
            "version": {"summary": "Point the alias at version 2", "value": {"version": 2}}
        }
    },
    ("post", "/v1/keys"): {
        "application/json": {
            "key": {
                "summary": "A key for the CRM of tenant acme",
                "value": {"tenant": "acme", "scopes": ["jobs:write", "jobs:read"], "name": "crm"},
            }
        }
    },
    ("put", "/v1/tenants/{tenant}/limits"): {
        "application/json": {
            "limits": {
                "summary": "Five jobs in flight; rows per job back to the default",
                "value": {"max_jobs_in_flight": 5, "max_rows_per_job": None},
            }
        }
    },
    ("post", "/v1/webhook-secrets"): {
        "application/json": {
            "rotate": {
                "summary": "Rotate; the secrets in use keep signing for a day",
                "value": {"previous_valid_seconds": 86400},
            }
        }
    },
}
RESPONSES: dict[tuple[str, str], dict[str, tuple[str, Any]]] = {
    ("post", "/v1/jobs"): {
        "202": ("application/json", _QUEUED),
        "200": ("application/json", _JOB),
    },
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
    ("get", "/v1/jobs/{job_id}/deliveries"): {"200": ("application/json", {"data": [_DELIVERY]})},
    ("post", "/v1/jobs/{job_id}/deliveries/{delivery_id}/redeliver"): {
        "202": ("application/json", _DELIVERY)
    },
    ("get", "/v1/models"): {"200": ("application/json", {"data": [_MODEL]})},
    ("get", "/v1/models/{name}"): {"200": ("application/json", _MODEL)},
    ("get", "/v1/models/{name}/versions/{version}"): {"200": ("application/json", _MODEL_VERSION)},
    ("post", "/v1/models/{name}/versions"): {"201": ("application/json", _UPLOADED)},
    ("put", "/v1/models/{name}/aliases/{alias}"): {
        "200": (
            "application/json",
            {
                "name": "churn",
                "aliases": {"staging": 2},
                "default_version": 2,
                "latest_version": 2,
                "versions": [{**_UPLOADED, "version": 1}, _UPLOADED],
            },
        )
    },
    ("post", "/v1/models/{name}/aliases/{alias}/promote"): {
        "200": (
            "application/json",
            {
                "name": "churn",
                "aliases": {"production": 2},
                "default_version": 2,
                "latest_version": 2,
                "versions": [{**_UPLOADED, "version": 1}, _UPLOADED],
            },
        )
    },
    ("get", "/v1/models/{name}/history"): {
        "200": (
            "application/json",
            {
                "data": [
                    {
                        "at": "2026-12-07T14:02:11.512Z",
                        "by": "key key_01JEQ4T8ZQ3W5X6Y7Z8A9B0C1D (ml-team)",
                        "action": "promote",
                        "alias": "production",
                        "before": {"version": 1, "canary": {"version": 2, "percent": 10}},
                        "after": {"version": 2},
                    },
                    {
                        "at": "2026-12-06T09:30:00.004Z",
                        "by": "key key_01JEQ4T8ZQ3W5X6Y7Z8A9B0C1D (ml-team)",
                        "action": "put",
                        "alias": "production",
                        "before": {"version": 1},
                        "after": {"version": 1, "canary": {"version": 2, "percent": 10}},
                    },
                ]
            },
        )
    },
    ("get", "/v1/models/{name}/aliases/{alias}/comparison"): {
        "200": (
            "application/json",
            {
                "model": "churn",
                "alias": "production",
                "version": 1,
                "shadow": 2,
                "window": "1h",
                "task": "classification",
                "rows_compared": 12000,
                "rows_agreeing": 11640,
                "agreement": 0.97,
                "confusion": {"no": {"no": 9100, "yes": 180}, "yes": {"no": 180, "yes": 2540}},
                "probability_rows": 12000,
                "mean_abs_probability_difference": {"no": 0.021, "yes": 0.021},
                "worst_rows": [
                    {"job": "job_01JEQ5A2B3C4D5E6F7G8H9J0KM", "row": 17, "difference": 0.62}
                ],
            },
        )
    },
    ("post", "/v1/keys"): {"201": ("application/json", {**_KEY, "key": "iqk_Zm9vYmFyYmF6cXV4"})},
    ("get", "/v1/keys"): {"200": ("application/json", {"data": [_KEY]})},
    ("get", "/v1/tenants/{tenant}/limits"): {"200": ("application/json", _LIMITS)},
    ("get", "/v1/usage"): {"200": ("application/json", _USAGE)},
    ("put", "/v1/tenants/{tenant}/limits"): {"200": ("application/json", _LIMITS)},
    ("post", "/v1/webhook-secrets"): {
        "201": (
            "application/json",
            {**_SECRET, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
        )
    },
    ("get", "/v1/webhook-secrets"): {"200": ("application/json", {"data": [_SECRET, _OLD_SECRET]})},
    ("get", "/healthz"): {"200": ("application/json", {"status": "ok"})},
    ("get", "/readyz"): {
        "200": ("application/json", {"ready": True, "redis": True, "workers": 1}),
        "503": (
            PROBLEM_JSON,
            {
                "type": "https://inferq.dev/problems/503",
                "title": "Not ready",
                "status": 503,
                "detail": "no worker has announced itself",
                "ready": False,
                "redis": True,
                "workers": 0,
            },
        ),
    },
}
#: The detail of each error answer's example; 404s name the kind of thing the path is about.
_DETAILS = {
    "400": ("Bad Request", "There was an error parsing the body"),
    "401": ("Unauthorized", "an API key is required: Authorization: Bearer <key>"),
    "403": ("Forbidden", "this API key lacks the 'jobs:write' scope"),
    "409": ("Conflict", f"job {_JOB_ID} is running; results come when it ends"),
    "410": ("Gone", f"job {_JOB_ID} has expired; its results were deleted"),
    "413": ("Content Too Large", "body of 20971520 bytes is over the limit of 10485760 bytes"),
    "429": ("Too Many Requests", "tenant acme has 5 jobs in flight, its limit"),
    "503": ("Service Unavailable", "Redis is unreachable; the request was not accepted"),
}
_NOT_FOUND = [
    (
        "/deliveries/",
        ("Not found", f"job {_JOB_ID} has no delivery msg_01JD5Q3ZB8M2W6R1K4T9X7C0NV"),
    ),
    ("/v1/jobs", ("Job not found", f"no job {_JOB_ID}")),
    ("/aliases/", ("Alias not found", "model 'churn' has no alias 'staging'")),
    ("/v1/models", ("Model not found", "no model named 'churn'")),
    ("/v1/keys", ("Key not found", "no API key key_01JD5Q3ZB8M2W6R1K4T9X7C0NV")),
    ("/v1/tenants", ("Tenant not found", "no tenant acme")),
    ("/v1/usage", ("Tenant not found", "no tenant acme")),
    (
        "/v1/webhook-secrets",
        ("Secret not found", "no webhook secret whs_01JD5PZ2Q4V8K1M7R3T6W9X0AB"),
    ),
]
_INVALID = {
    "type": "https://inferq.dev/problems/422",
    "title": "Invalid job request",
    "status": 422,
    "detail": "rows: missing column sepal_width",
    "errors": [
        {"loc": ["body", "dataframe_split", "columns"], "msg": "missing column sepal_width"}
    ],
}
_PROBLEM_SCHEMA = {"$ref": "#/components/schemas/ProblemDetails"}


def _conflict(kind: str, title: str, detail: str) -> dict[str, Any]:
    return {
        "value": {
            "type": f"https://inferq.dev/problems/{kind}",
            "title": title,
            "status": 409,
            "detail": detail,
        }
    }


#: Error answers with several meanings a client tells apart by `type`.
_PROBLEM_EXAMPLES: dict[tuple[str, str, str], dict[str, Any]] = {
    ("post", "/v1/jobs", "409"): {
        "in_progress": _conflict(
            "idempotency-key-in-progress",
            "Idempotency-Key in use",
            "a request with this Idempotency-Key is still in progress; retry once it has ended",
        ),
        "other_body": _conflict(
            "idempotency-key-reused",
            "Conflict",
            "this Idempotency-Key was used with a different request body",
        ),
    }
}


def add_examples(schema: dict[str, Any]) -> dict[str, Any]:
    """Put the examples above into an OpenAPI document; error answers show problem+json."""
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            _request_examples(operation, REQUESTS.get((method, path), {}))
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                if status >= "400":
                    declared = response.get("content", {}).get(PROBLEM_JSON, {})
                    media = {"schema": declared.get("schema", _PROBLEM_SCHEMA)}
                    named = _PROBLEM_EXAMPLES.get((method, path, status))
                    if named:
                        media["examples"] = named
                    else:
                        media["example"] = problem_example(path, status)
                    response["content"] = {PROBLEM_JSON: media}
            for status, (media_type, example) in RESPONSES.get((method, path), {}).items():
                content = responses.setdefault(status, {"description": "OK"}).setdefault(
                    "content", {}
                )
                content.setdefault(media_type, {})["example"] = example
    return schema


def problem_example(path: str, status: str) -> dict[str, Any]:
    """An example problem+json body for an error answer of an endpoint."""
    if status == "422":
        return _INVALID
    if status == "404":
        title, detail = next(found for part, found in _NOT_FOUND if part in path)
    else:
        title, detail = _DETAILS.get(status, (HTTPStatus(int(status)).phrase, "see the title"))
    return {
        "type": f"https://inferq.dev/problems/{status}",
        "title": title,
        "status": int(status),
        "detail": detail,
    }


def _request_examples(operation: dict[str, Any], examples: dict[str, dict[str, Any]]) -> None:
    content = operation.get("requestBody", {}).get("content", {})
    for media, named in examples.items():
        if media in content:
            content[media]["examples"] = named
