"""Answers the fuzzer once got wrong, kept as plain tests."""

from __future__ import annotations

import httpx

from tests.helpers import assert_problem


def test_a_cursor_that_is_not_a_job_id_is_422_not_500(api: httpx.Client) -> None:
    """Letters outside Crockford base32 (I, L, O, U) in a cursor are a client mistake."""
    answer = api.get("/v1/jobs", params={"cursor": "job_257ESOAE02HOY31XLBS0BSQ26N"})
    assert_problem(answer, 422, "cursor")


def test_a_405_lists_every_method_of_the_path(api: httpx.Client) -> None:
    """Allow names all methods served at the path, not just those of the first route."""
    answer = api.request("PATCH", "/v1/jobs")
    assert_problem(answer, 405)
    assert {m.strip() for m in answer.headers["allow"].split(",")} >= {"GET", "POST"}


def test_a_body_that_is_not_text_is_a_documented_400(api: httpx.Client) -> None:
    """Bytes that are not UTF-8 sent as JSON to a body route are a 400 problem."""
    answer = api.post(
        "/v1/keys", content=b"\x80\x81{}", headers={"Content-Type": "application/json"}
    )
    assert_problem(answer, 400)
    documented = api.get("/openapi.json").json()["paths"]["/v1/keys"]["post"]["responses"]
    assert "400" in documented
