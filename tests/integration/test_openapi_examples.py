"""/openapi.json carries an example for every endpoint's success and error answers."""

from __future__ import annotations

import httpx


def test_every_endpoint_has_success_and_problem_examples(api: httpx.Client) -> None:
    """Each operation's success answer (bar 204) has an example; errors are problem+json."""
    schema = api.get("/openapi.json").json()
    missing = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status == "204":
                    continue
                content = response.get("content", {})
                if not any("example" in media or "examples" in media for media in content.values()):
                    missing.append(f"{method.upper()} {path} {status}")
                if status >= "400":
                    assert list(content) == ["application/problem+json"], (path, status)
    assert not missing, missing
    job_body = schema["paths"]["/v1/jobs"]["post"]["requestBody"]["content"]["application/json"]
    assert set(job_body["examples"]) == {
        "dataframe_split",
        "dataframe_records",
        "instances",
        "input_uri",
    }
