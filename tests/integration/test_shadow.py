"""Shadow versions: every job on the alias is scored again, stored apart and compared."""

from __future__ import annotations

import io
import time
import uuid

import httpx
import pandas as pd

from inferq.comparison import compare_tables, comparison_report, comparison_write
from inferq.jobs.shadows import SHADOW_LANE, ShadowLane, ShadowWork, shed_field
from inferq.metrics.keys import COUNTERS
from tests.helpers import (
    assert_problem,
    demo_rows,
    reference_model,
    results_frame,
    submit,
    wait_for,
)
from tests.integration.test_canary import upload
from tests.model_fixtures import constant_iris, skops_bytes
from tests.stack import Stack


def shadow_frame(api: httpx.Client, job_id: str) -> pd.DataFrame:
    """The job's rows as its shadow version scored them (waits for the shadow work)."""
    deadline = time.monotonic() + 60
    while True:
        response = api.get(f"/v1/jobs/{job_id}/results", params={"version": "shadow"})
        if response.status_code == 200:
            table = response.json()
            return pd.DataFrame(table["data"], columns=table["columns"])
        assert response.status_code == 409, response.text
        assert time.monotonic() < deadline, "the shadow never scored the job"
        time.sleep(0.2)


def test_comparison_agreement_equals_the_agreement_of_the_two_downloaded_results(
    api: httpx.Client,
) -> None:
    """Jobs on an alias with a shadow are scored by both; clients see the primary's rows; the
    comparison's agreement is exactly what the downloaded result files give offline."""
    name = f"shadow-{uuid.uuid4().hex[:8]}"
    assert upload(api, name, skops_bytes(constant_iris("versicolor"))) == 1
    assert upload(api, name, skops_bytes(reference_model("iris"))) == 2
    put = api.put(f"/v1/models/{name}/aliases/production", json={"version": 1, "shadow": 2})
    assert put.status_code == 200 and put.json()["traffic"]["production"]["shadow"] == 2
    jobs = []
    for seed in range(20):
        rows = demo_rows("iris", 6, seed=seed)
        body = {
            "model": name,
            "dataframe_split": {"columns": list(rows.columns), "data": rows.values.tolist()},
            "outputs": ["prediction", "probabilities"],
        }
        jobs.append(submit(api, body))
    agree = total = 0
    confusion: dict[tuple[str, str], int] = {}
    for job in jobs:
        assert wait_for(api, job["id"])["model"] == {"name": name, "version": 1, "canary": False}
        primary = results_frame(api, job["id"])
        shadow = shadow_frame(api, job["id"])
        assert set(primary["prediction"]) == {"versicolor"}
        rows = demo_rows("iris", 6, seed=jobs.index(job))
        assert shadow["prediction"].tolist() == reference_model("iris").predict(rows).tolist()
        for p, s in zip(primary["prediction"], shadow["prediction"], strict=True):
            agree += p == s
            total += 1
            confusion[(p, s)] = confusion.get((p, s), 0) + 1
    deadline = time.monotonic() + 30
    while True:
        report = api.get(f"/v1/models/{name}/aliases/production/comparison").json()
        if report["rows_compared"] >= total or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert report["rows_compared"] == total == 120
    assert report["rows_agreeing"] == agree
    assert report["agreement"] == agree / total
    assert 0 < agree < total  # the two versions differ on some rows, not all
    flat = {(p, s): n for p, row in report["confusion"].items() for s, n in row.items()}
    assert flat == confusion
    assert set(report["mean_abs_probability_difference"]) == {"setosa", "versicolor", "virginica"}
    worst = report["worst_rows"]
    assert len(worst) == 20 and {w["job"] for w in worst} <= {job["id"] for job in jobs}
    assert all(0 <= w["row"] < 6 for w in worst)
    assert worst == sorted(worst, key=lambda w: -w["difference"])
    assert report["version"] == 1 and report["shadow"] == 2 and report["window"] == "1h"


def test_a_job_without_a_shadow_has_no_shadow_results(api: httpx.Client) -> None:
    """`?version=shadow` of a job on an alias without a shadow answers 404."""
    rows = demo_rows("iris", 1)
    job = submit(api, {"model": "iris", "dataframe_records": rows.to_dict("records")})
    wait_for(api, job["id"])
    answer = api.get(f"/v1/jobs/{job['id']}/results", params={"version": "shadow"})
    assert_problem(answer, 404, "no shadow")


def test_shadow_work_offered_to_a_full_lane_is_shed_and_counted(isolated_stack: Stack) -> None:
    """Past the lane's capacity, offered shadow work is dropped and its rows counted as shed;
    what was taken waits in order."""
    client = isolated_stack.redis()
    lane = ShadowLane(client, capacity=2)
    model = f"shed-{uuid.uuid4().hex[:8]}"
    works = [ShadowWork(f"job{i}", "default", model, 1, 2, "production", rows=5) for i in range(5)]
    call = lane.offer_call(works)
    call.run()  # type: ignore[union-attr]  # works given: a script call
    assert int(client.hget(COUNTERS, shed_field(model, 2)) or 0) == 15
    assert client.llen(SHADOW_LANE) == 2
    taken = lane.claim(10)
    assert [c.work.id for c in taken] == ["job0", "job1"] and taken[0].rows is None


def test_a_file_job_is_shadowed_chunk_by_chunk(api: httpx.Client) -> None:
    """A CSV job on a shadowed alias: the shadow's rows come from `?version=shadow` (CSV too)
    and count in the comparison, with worst rows naming the file's rows."""
    name = f"shadow-file-{uuid.uuid4().hex[:8]}"
    assert upload(api, name, skops_bytes(constant_iris("setosa"))) == 1
    assert upload(api, name, skops_bytes(reference_model("iris"))) == 2
    assert api.put(
        f"/v1/models/{name}/aliases/staging", json={"version": 1, "shadow": 2}
    ).is_success
    rows = demo_rows("iris", 200, seed=3)
    response = api.post(
        "/v1/jobs",
        params={"model": f"{name}@staging"},
        content=rows.to_csv(index=False).encode(),
        headers={"content-type": "text/csv"},
    )
    assert response.status_code == 202, response.text
    job = wait_for(api, response.json()["id"])
    assert job["status"] == "succeeded"
    shadow = shadow_frame(api, job["id"])
    assert shadow["prediction"].tolist() == reference_model("iris").predict(rows).tolist()
    csv = api.get(f"/v1/jobs/{job['id']}/results", params={"version": "shadow", "format": "csv"})
    assert (
        pd.read_csv(io.StringIO(csv.text))["prediction"].tolist() == shadow["prediction"].tolist()
    )
    expected = int((shadow["prediction"] == "setosa").sum())
    deadline = time.monotonic() + 30
    while True:
        report = api.get(f"/v1/models/{name}/aliases/staging/comparison").json()
        if report["rows_compared"] >= 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert report["rows_compared"] == 200 and report["rows_agreeing"] == expected
    assert all(shadow["prediction"][w["row"]] != "setosa" for w in report["worst_rows"])


def test_the_cli_sets_a_canary_and_shadow_compares_and_promotes(stack: Stack, tmp_path) -> None:
    """`inferq models canary|shadow|compare|promote|history` drive the same endpoints."""
    from tests.integration.test_cli import inferq

    name = f"cli-roll-{uuid.uuid4().hex[:8]}"
    with stack.client(timeout=180) as api:
        assert upload(api, name, skops_bytes(constant_iris("setosa"))) == 1
        assert upload(api, name, skops_bytes(constant_iris("virginica"))) == 2
        assert api.put(f"/v1/models/{name}/aliases/production", json={"version": 1}).is_success
    canary = inferq(stack, "models", "canary", name, "production", "2", "--percent", "12.5")
    assert canary.returncode == 0, canary.stderr
    assert '"percent": 12.5' in canary.stdout
    shadow = inferq(stack, "models", "shadow", name, "production", "2", "--keep")
    assert shadow.returncode == 0 and '"shadow": 2' in shadow.stdout and "12.5" in shadow.stdout
    compare = inferq(stack, "models", "compare", name, "production", "--json")
    assert compare.returncode == 0, compare.stderr
    assert '"rows_compared": 0' in compare.stdout
    ambiguous = inferq(stack, "models", "promote", name, "production")
    assert ambiguous.returncode != 0 and "canary" in ambiguous.stderr + ambiguous.stdout
    promote = inferq(stack, "models", "promote", name, "production", "--to", "shadow")
    assert promote.returncode == 0 and f"{name}@production -> 2" in promote.stdout
    history = inferq(stack, "models", "history", name)
    assert history.returncode == 0 and "promote production" in history.stdout.splitlines()[0]


def test_a_regressor_comparison_reports_mean_and_p99_over_the_window(
    isolated_stack: Stack,
) -> None:
    """Batches written a minute apart add up in the window; older minutes fall out of `1h`."""
    client = isolated_stack.redis()
    now = time.time()
    versions = (1, 2)
    for minutes_ago, shift in ((0, 0.5), (1, 0.5), (90, 100.0)):
        primary = {"columns": ["prediction"], "data": [[float(i)] for i in range(100)]}
        shadow = {"columns": ["prediction"], "data": [[i + shift] for i in range(100)]}
        found = compare_tables(primary, shadow, False, f"job{minutes_ago}")
        pipe = client.pipeline()
        comparison_write("r", "production", versions, found, now - 60 * minutes_ago)(pipe)
        pipe.execute()
    hour = comparison_report(client, "r", "production", versions, False, "1h", now)
    assert hour["rows_compared"] == 200 and hour["mean_abs_difference"] == 0.5
    assert 0.5 <= hour["p99_abs_difference"] < 0.6  # the upper edge of 0.5's bin
    assert {w["job"] for w in hour["worst_rows"]} <= {"job0", "job1"}
    day = comparison_report(client, "r", "production", versions, False, "24h", now)
    assert day["rows_compared"] == 300 and day["p99_abs_difference"] >= 100
    assert day["worst_rows"][0]["job"] == "job90" and len(day["worst_rows"]) == 20
