"""The dashboard at /ui in headless Chromium: live jobs, details, downloads, upload and models."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pandas as pd
from playwright.sync_api import expect

from inferq.storage import Storage
from models.registry import ModelRegistry
from tests.helpers import TenantClients, demo_rows, reference_model, submit, wait_for
from tests.monitoring_helpers import (
    counted,
    numeric_model,
    put_reference_file,
    score_csv,
    score_json,
    traffic,
    upload_model,
)
from tests.stack import Stack


def download_csv(page: Any) -> pd.DataFrame:
    """Click a download link in the job details and read the file the browser saved."""
    with page.expect_download() as info:
        page.locator("#job-detail a.download[data-format=csv]").click()
    path = info.value.path()
    assert info.value.suggested_filename.endswith(".csv")
    return pd.read_csv(io.BytesIO(Path(path).read_bytes()))


def open_with_key(page: Any, stack: Stack) -> None:
    """Open the dashboard through a `#key=` link, as `make run` prints it."""
    page.goto(f"{stack.api_url}/ui/#key={stack.admin_key}")


def test_a_job_goes_live_from_queued_to_succeeded_and_downloads(
    isolated_stack: Stack, page: Any
) -> None:
    """Without a key the page asks for one; with the key typed in, the row shows queued, and
    once a worker starts, SSE turns it succeeded.

    Its details show the counts and download links, and the CSV downloaded through the page
    holds the model's predictions. A failed job shows its error. Every call carries the key in
    its Authorization header, never in its URL.
    """
    url = isolated_stack.start_api()
    key = isolated_stack.admin_key
    events: list[str] = []
    calls: list[Any] = []
    page.on("request", lambda r: events.append(r.url) if r.url.endswith("/events") else None)
    page.on("request", lambda r: calls.append(r) if "/v1/" in r.url else None)
    rows = demo_rows("iris", 12, seed=9)
    with isolated_stack.client(timeout=30) as api:
        job = submit(api, {"model": "iris", "dataframe_records": rows.to_dict("records")})
        doomed = submit(api, {"model": "iris", "instances": [[5.1, 3.5, 1.4, 0.2]]})
    isolated_stack.redis().delete(f"inferq:job:{doomed['id']}:input")
    page.goto(f"{url}/ui")
    expect(page.locator("#notice")).to_contain_text("401")
    expect(page.locator("#notice")).to_contain_text("API key")
    page.locator("#api-key").fill(key)
    page.locator("#api-key").press("Enter")
    row = page.locator(f"tr[data-job-id='{job['id']}']")
    expect(row.locator(".status")).to_have_text("queued")
    isolated_stack.start_worker(concurrency=1)
    expect(row.locator(".status")).to_have_text("succeeded")
    expect(row.locator(".rows")).to_have_text("12 / 12")
    assert any(job["id"] in u for u in events), "the page did not follow the job's SSE stream"

    row.click()
    detail = page.locator("#job-detail")
    expect(detail.locator("dd[data-field=rows]")).to_have_text("12 scored, 0 failed, 12 in all")
    scored = download_csv(page)
    assert scored["prediction"].tolist() == reference_model("iris").predict(rows).tolist()

    page.locator(f"tr[data-job-id='{doomed['id']}']").click()
    expect(detail.locator(".job-error")).to_contain_text("input_missing")
    assert all(key not in call.url for call in calls)
    authorized = [c for c in calls if c.headers.get("authorization") == f"Bearer {key}"]
    assert any(c.url.endswith("/events") for c in authorized)
    assert any("/results?format=csv" in c.url for c in authorized)


def test_models_page_lists_versions_and_aliases(stack: Stack, page: Any) -> None:
    """Opened with a `#key=` link (wiped from the address bar), every demo model is shown with
    its versions, task and features, and its aliases."""
    registry = ModelRegistry(stack.redis(), Storage(stack.settings.data_url))
    registry.set_alias("diabetes", "staging", 1)
    open_with_key(page, stack)
    assert stack.admin_key not in page.url, "the key stays in the address bar"
    page.get_by_role("button", name="Models").click()
    for name in ("iris", "diabetes", "breast_cancer"):
        card = page.locator(f".model[data-model='{name}']")
        expect(card.locator("tbody tr").first).to_contain_text("v1")
    expect(page.locator(".model[data-model='iris']")).to_contain_text("classification")
    expect(page.locator(".model[data-model='diabetes']")).to_contain_text("regression")
    expect(page.locator(".model[data-model='diabetes'] .alias", has_text="staging")).to_have_text(
        "staging → v1"
    )


def test_a_csv_uploaded_through_the_page_is_scored_and_downloaded(
    stack: Stack, page: Any, tmp_path: Path
) -> None:
    """Upload a CSV with the form, watch the job finish, download the scored file."""
    rows = demo_rows("iris", 300, seed=10)
    rows.insert(0, "id", range(300))
    source = tmp_path / "upload.csv"
    rows.to_csv(source, index=False)
    open_with_key(page, stack)
    page.get_by_role("button", name="Score a file").click()
    page.locator("#upload-file").set_input_files(str(source))
    page.locator("#upload-model").select_option("iris")
    page.locator("#upload-passthrough").fill("id")
    page.get_by_role("button", name="Upload and score").click()
    expect(page.locator("#upload-result")).to_have_attribute("data-job-id", re.compile(r"^job_"))
    job_id = page.locator("#upload-result").get_attribute("data-job-id")
    expect(page.locator(f"tr[data-job-id='{job_id}'] .status")).to_have_text("succeeded")
    page.locator(f"tr[data-job-id='{job_id}']").click()
    scored = download_csv(page)
    assert scored["id"].tolist() == list(range(300))
    expected = reference_model("iris").predict(rows.drop(columns="id")).tolist()
    assert scored["prediction"].tolist() == expected


def test_overview_and_model_pages_draw_charts_and_flag_the_drifting_feature(
    stack: Stack, page: Any, tmp_path: Path
) -> None:
    """After a batch with x shifted by 1.5 sd is scored against a reference, the model page's
    PSI chart flags x as drifting and y as fine, shows x's reference-vs-window histogram and
    the predictions over time; the overview draws throughput and queue lines from /metrics.
    No console errors along the way."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(r.url) if r.status >= 400 else None)
    with stack.client(timeout=60) as api:
        name = upload_model(api, numeric_model())
        assert put_reference_file(api, name, 1, traffic(2_000, seed=20)).status_code == 200
        score_csv(api, name, traffic(3_000, seed=21, shift=1.5)[["x", "y"]])
        counted(api, name, 1, 3_000)
        open_with_key(page, stack)
        page.get_by_role("button", name="Overview").click()
        expect(page.locator("#chart-jobs path.line[data-series='jobs/s']")).to_have_count(1)
        expect(page.locator("#chart-rows path.line[data-series='rows/s']")).to_have_count(1)
        expect(page.locator("#chart-queue path.line")).to_have_count(2)  # depth and backlog
        score_json(api, name, traffic(200, seed=22)[["x", "y"]])  # traffic while it samples
    page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)

    page.get_by_role("button", name="Models").click()
    page.locator(f".model[data-model='{name}'] button.monitor[data-version='1']").click()
    psi = page.locator("#psi-chart")
    expect(psi.locator("rect[data-feature='x']")).to_have_class(re.compile(r"\bdrift\b"))
    expect(psi.locator("rect[data-feature='y']")).to_have_class(re.compile(r"\bok\b"))
    expect(psi.locator("rect[data-feature='prediction']")).to_have_count(1)
    expect(page.locator("#histogram-chart")).to_have_attribute("data-feature", "x")
    expect(page.locator("#histogram-chart rect.seg")).to_have_count(20)  # 10 bins, 2 series
    assert page.locator("#prediction-chart rect.seg").count() >= 2
    expect(page.locator("#quality-table tr[data-feature='x'] td.psi")).to_have_class(
        re.compile(r"\bdrift\b")
    )
    expect(page.locator("#monitoring-summary")).to_contain_text("reference from file")
    page.locator("#feature-select").select_option("y")
    expect(page.locator("#histogram-chart")).to_have_attribute("data-feature", "y")
    page.locator("#model-monitoring").screenshot(path=str(tmp_path / "model.png"))
    print(f"screenshots in {tmp_path}")
    assert errors == [], errors


def test_the_usage_page_charts_the_tenants_usage_per_day_and_lists_its_models(
    stack: Stack, page: Any
) -> None:
    """A tenant that scored two jobs of 5 rows sees today's bar at 5 rows scored, a line for
    iris in the model table, and today's bar at 2 once it picks jobs; no console errors."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    clients = TenantClients(stack)
    try:
        client = clients()
        for count in (3, 2):
            rows = demo_rows("iris", count, seed=count).to_dict("records")
            job = submit(client, {"model": "iris", "dataframe_records": rows})
            assert wait_for(client, job["id"])["status"] == "succeeded"
        key = client.headers["authorization"].removeprefix("Bearer ")
        page.goto(f"{stack.api_url}/ui/#key={key}")
        page.get_by_role("button", name="Usage").click()
        expect(page.locator("#usage-summary")).to_contain_text(f"tenant {client.tenant}")  # type: ignore[attr-defined]
        today = page.locator("#usage-to").input_value()  # filled in from the report
        bar = page.locator(f"#usage-chart rect[data-day='{today}']")
        expect(bar).to_have_attribute("data-value", "5")
        expect(page.locator("#usage-chart rect")).to_have_count(30)
        expect(page.locator("#usage-table tr[data-model='iris'] td").nth(3)).to_have_text("5")
        page.locator("#usage-measure").select_option("jobs")
        expect(page.locator("#usage-chart")).to_have_attribute("data-measure", "jobs")
        expect(bar).to_have_attribute("data-value", "2")
    finally:
        clients.close()
    assert errors == [], errors


def test_model_page_shows_an_alias_split_and_its_shadow_comparison(stack: Stack, page: Any) -> None:
    """An alias with a canary and a shadow shows both shares; its Comparison button opens the
    agreement, the confusion table and the worst rows."""
    import time
    import uuid

    from tests.integration.test_canary import upload
    from tests.model_fixtures import constant_iris, skops_bytes

    name = f"split-{uuid.uuid4().hex[:6]}"
    with stack.client(timeout=180) as api:
        assert upload(api, name, skops_bytes(constant_iris("setosa"))) == 1
        assert upload(api, name, skops_bytes(reference_model("iris"))) == 2
        split = {"version": 1, "canary": {"version": 2, "percent": 10}, "shadow": 2}
        assert api.put(f"/v1/models/{name}/aliases/production", json=split).is_success
        rows = demo_rows("iris", 30).to_dict("records")
        job = submit(api, {"model": name, "dataframe_records": rows})
        url = f"/v1/models/{name}/aliases/production/comparison"
        deadline = time.monotonic() + 30
        while api.get(url).json()["rows_compared"] < 30 and job["model"]["canary"] is False:
            assert time.monotonic() < deadline, "the shadow never compared the job"
            time.sleep(0.2)
    open_with_key(page, stack)
    page.get_by_role("button", name="Models").click()
    card = page.locator(f".model[data-model='{name}']")
    expect(card.locator(".traffic li")).to_have_text(
        re.compile(r"production: v1 \(90%\) · canary v2 \(10%\) · shadow v2")
    )
    card.locator("button.compare").click()
    expect(page.locator("#comparison-summary")).to_contain_text("v1 vs shadow v2")
    if not job["model"]["canary"]:
        expect(page.locator("#comparison-summary")).to_contain_text("30 rows compared")
        expect(page.locator("#confusion-table")).to_contain_text("setosa")
