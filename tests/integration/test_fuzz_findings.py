"""Answers the fuzzer once got wrong, kept as plain tests."""

from __future__ import annotations

import io

import httpx
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from tests.helpers import assert_problem, wait_for


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


def test_json_booleans_are_not_numbers(api: httpx.Client) -> None:
    """`true`/`false` where a number belongs is a 422 naming the field, on every JSON body."""
    cases = [
        ("POST", "/v1/webhook-secrets", {"previous_valid_seconds": False}, "previous_valid"),
        ("PUT", "/v1/tenants/acme/limits", {"max_jobs_in_flight": True}, "max_jobs_in_flight"),
        ("PUT", "/v1/models/iris/aliases/fuzzed", {"version": True}, "version"),
        (
            "POST",
            "/v1/jobs",
            {"model": "iris", "instances": [[1, 2, 3, 4]], "max_error_rate": True},
            "max_error_rate",
        ),
    ]
    for method, path, body, field_name in cases:
        assert_problem(api.request(method, path, json=body), 422, field_name)


def test_every_status_a_route_answers_is_documented(api: httpx.Client) -> None:
    """A mismatched Idempotency-Key (409) and an unknown job to cancel or delete (404) are
    declared in /openapi.json."""
    paths = api.get("/openapi.json").json()["paths"]
    assert "409" in paths["/v1/jobs"]["post"]["responses"]
    assert "200" in paths["/v1/jobs"]["post"]["responses"]
    assert "404" in paths["/v1/jobs/{job_id}/cancel"]["post"]["responses"]
    assert "404" in paths["/v1/jobs/{job_id}"]["delete"]["responses"]
    job = {"model": "iris", "instances": [[5.1, 3.5, 1.4, 0.2]]}
    key = {"Idempotency-Key": "fuzz-finding-409"}
    assert api.post("/v1/jobs", json=job, headers=key).status_code == 202
    other = {**job, "instances": [[6.7, 3.0, 5.2, 2.3]]}
    assert_problem(api.post("/v1/jobs", json=other, headers=key), 409, "Idempotency-Key")
    missing = "/v1/jobs/job_01M83ZXD7CV4ETARR9WMYXEVV7"
    assert_problem(api.post(f"{missing}/cancel"), 404)
    assert_problem(api.delete(missing), 404)


#: The body the fuzzer found (issue 16): a part whose header line has no colon.
BROKEN_FORM = b"--60fb\r\n8249--60fb--\r\n"
BROKEN_FORM_TYPE = {"Content-Type": "multipart/form-data; boundary=60fb"}


def test_a_malformed_form_is_the_same_400_on_both_upload_routes(api: httpx.Client) -> None:
    """A form the multipart parser cannot read is a 400 problem on the job route, the same
    answer the model upload route gives it."""
    job = api.post("/v1/jobs", content=BROKEN_FORM, headers=BROKEN_FORM_TYPE)
    model = api.post("/v1/models/fuzzed/versions", content=BROKEN_FORM, headers=BROKEN_FORM_TYPE)
    assert assert_problem(job, 400, "multipart") == assert_problem(model, 400, "multipart")
    no_boundary = {"Content-Type": "multipart/form-data"}
    assert_problem(api.post("/v1/jobs", content=BROKEN_FORM, headers=no_boundary), 400, "boundary")


def test_a_malformed_form_frees_its_idempotency_key(api: httpx.Client) -> None:
    """After a 400 for a broken form, a retry with the same Idempotency-Key is taken in."""
    key = {"Idempotency-Key": "fuzz-finding-broken-form"}
    broken = api.post("/v1/jobs", content=BROKEN_FORM, headers={**BROKEN_FORM_TYPE, **key})
    assert_problem(broken, 400)
    rows = b"sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n"
    retry = api.post(
        "/v1/jobs", data={"model": "iris"}, files={"file": ("rows.csv", rows)}, headers=key
    )
    assert retry.status_code == 202, retry.text


def test_a_malformed_input_uri_is_422(api: httpx.Client) -> None:
    """An `input_uri` that urllib or the file system cannot parse (an unclosed IPv6 bracket, a
    NUL byte) is a 422 naming the field."""
    for uri in ["http://[::1/rows.csv", "/tmp/rows\u0000.csv", "file:///tmp/\u0000.csv"]:
        answer = api.post("/v1/jobs", json={"model": "iris", "input_uri": uri})
        assert_problem(answer, 422, "input_uri")


def test_a_malformed_webhook_url_is_422(api: httpx.Client) -> None:
    """A webhook URL with an unclosed IPv6 bracket or a host name IDNA cannot encode is a 422
    naming the webhook, for JSON and file jobs alike."""
    rows = b"sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n"
    for url in ["http://[::1/hook", f"http://{'a' * 64}.example/hook"]:
        body = {"model": "iris", "instances": [[5.1, 3.5, 1.4, 0.2]], "webhook": {"url": url}}
        assert_problem(api.post("/v1/jobs", json=body), 422, "webhook")
        query = {"model": "iris", "webhook_url": url}
        csv_job = api.post(
            "/v1/jobs", params=query, content=rows, headers={"Content-Type": "text/csv"}
        )
        assert_problem(csv_job, 422, "webhook")


def test_a_file_job_takes_the_routes_own_query(api: httpx.Client) -> None:
    """`?wait=` and `?include=`, documented for every body of POST /v1/jobs, are not refused as
    unknown job options when the body is a file."""
    rows = b"sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n"
    query = {"model": "iris", "wait": "30", "include": "results"}
    answer = api.post("/v1/jobs", params=query, content=rows, headers={"Content-Type": "text/csv"})
    assert answer.status_code in (200, 202), answer.text
    assert answer.json()["model"]["name"] == "iris"


def test_nested_passthrough_values_come_back_as_json_text(api: httpx.Client) -> None:
    """A list or object in a passthrough column of a Parquet or JSON Lines file no longer stops
    the worker (CSV parts cannot hold it): the job succeeds and returns it as JSON text."""
    features = dict.fromkeys(["sepal_length", "sepal_width", "petal_length", "petal_width"], 1.0)
    table = pa.table({**{k: [v, v] for k, v in features.items()}, "id": [[1, 2], None]})
    parquet = io.BytesIO()
    pq.write_table(table, parquet)
    lines = [orjson.dumps({**features, "id": value}) for value in ({"a": 1}, [3])]
    uploads = [
        (parquet.getvalue(), "application/vnd.apache.parquet", ["[1,2]", None]),
        (b"\n".join(lines), "application/x-ndjson", ['{"a":1}', "[3]"]),
    ]
    for body, media, ids in uploads:
        query = {"model": "iris", "passthrough": "id"}
        job = api.post("/v1/jobs", params=query, content=body, headers={"Content-Type": media})
        assert job.status_code == 202, job.text
        assert wait_for(api, job.json()["id"])["status"] == "succeeded"
        rows = api.get(f"/v1/jobs/{job.json()['id']}/results", params={"format": "json"}).json()
        at = rows["columns"].index("id")
        assert [row[at] for row in rows["data"]] == ids
