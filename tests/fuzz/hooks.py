"""What the fuzzer sends besides what the schema alone would generate.

Random model names and artifacts are refused at the first check (404, 422), so the bodies behind
those checks were never read. These hooks name a demo model in most submissions and upload a
real (tiny) model now and then, so jobs are taken in and model versions made, and the stateful
phase has jobs and versions to follow links from. Every answer that is an error must be
problem+json.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import schemathesis
from hypothesis import strategies as st
from schemathesis.transport.serialization import Binary

from inferq.json_rows import ROW_FORMATS
from tests.model_fixtures import constant_iris, skops_bytes

MODEL_REFERENCES = ["iris", "iris@1", "diabetes", "breast_cancer"]
#: A demo model's reference, or None (keep what the schema generated) one time in five.
_MAYBE_MODEL = st.sampled_from([*MODEL_REFERENCES, None])
_IRIS_ROWS = st.lists(st.lists(st.floats(0, 10), min_size=4, max_size=4), min_size=1, max_size=3)
#: The model name fuzzed uploads register under (the schema would almost never hit the pattern).
UPLOAD_NAME = "fuzzed"
#: One in this many model uploads carries a real artifact: each one is checked in a separate
#: process for seconds, so only a few per run.
REAL_ARTIFACT_EVERY = 25
PROBLEM_JSON = "application/problem+json"


#: Answers seen per phase, operation, media type and status (FUZZ_TALLY=file writes them out).
TALLY: Counter[tuple[str, str, str, int]] = Counter()
#: The phase now fuzzing: "single" calls, or "linked" chains.
PHASE = ["single"]


def install(schema: Any) -> None:
    """Register the hooks on `schema` and the problem+json check everywhere."""
    schema.hook("after_call")(_tally)
    jobs = schema.hook.apply_to(method="POST", path="/v1/jobs")
    jobs("before_generate_query")(_with_model_query)
    jobs("before_generate_body")(_with_model_field)
    uploads = schema.hook.apply_to(method="POST", path="/v1/models/{name}/versions")
    uploads("before_generate_path_parameters")(_with_upload_name)
    uploads("before_generate_body")(_with_real_artifact)
    schemathesis.check(errors_are_problem_json)


def _tally(_: Any, case: schemathesis.Case, response: schemathesis.Response) -> None:
    TALLY[(PHASE[0], case.operation.label, case.media_type or "", response.status_code)] += 1


def errors_are_problem_json(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """Every 4xx and 5xx answer is problem+json (RFC 9457)."""
    if response.status_code < 400:
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    if not content_type.startswith(PROBLEM_JSON):
        raise AssertionError(f"{response.status_code} answered as {content_type!r}")
    return True


def _with_model_query(_: Any, strategy: st.SearchStrategy) -> st.SearchStrategy:
    """A file body's options come from the query: name a demo model in most of them."""
    return st.tuples(strategy, _MAYBE_MODEL).map(_named_query)


def _named_query(drawn: tuple[Any, str | None]) -> Any:
    query, model = drawn
    if model is None or not isinstance(query, dict | None):
        return query
    return {**(query or {}), "model": model}


def _with_model_field(_: Any, strategy: st.SearchStrategy) -> st.SearchStrategy:
    """A JSON job or form names a demo model in most examples; a JSON job carries iris rows
    (its other options as generated) in half of those."""
    return st.tuples(strategy, _MAYBE_MODEL, st.one_of(st.none(), _IRIS_ROWS)).map(_named_body)


def _named_body(drawn: tuple[Any, str | None, list[list[float]] | None]) -> Any:
    body, model, rows = drawn
    if model is None or not isinstance(body, dict) or "model" not in body:
        return body
    if rows is None or "file" in body:
        return {**body, "model": model}
    options = {k: v for k, v in body.items() if k not in (*ROW_FORMATS, "input_uri")}
    return {**options, "model": "iris", "instances": rows}


def _with_upload_name(_: Any, strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(strategy, strategy.map(_upload_named))


def _upload_named(parameters: Any) -> Any:
    return {**parameters, "name": UPLOAD_NAME} if isinstance(parameters, dict) else parameters


def _with_real_artifact(_: Any, strategy: st.SearchStrategy) -> st.SearchStrategy:
    real = st.sampled_from([False] * (REAL_ARTIFACT_EVERY - 1) + [True])
    return st.tuples(strategy, real).map(_artifact_body)


def _artifact_body(drawn: tuple[Any, bool]) -> Any:
    body, real = drawn
    if not real or not isinstance(body, dict):
        return body
    return {**body, "file": ARTIFACT, "format": "skops"}


# Binary: how schemathesis carries bytes for a `format: binary` part.
ARTIFACT = Binary(skops_bytes(constant_iris("setosa")))
