"""Model monitoring through the real API and workers: references, drift, quality and alerts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import orjson
import pytest
from standardwebhooks import Webhook

from inferq.redis_server import free_port
from models.artifacts import dump_skops, untrusted_types
from tests.helpers import TenantClients, assert_problem
from tests.monitoring_helpers import (
    counted,
    eventually,
    monitoring,
    numeric_model,
    plan_model,
    put_reference_file,
    score_csv,
    score_json,
    traffic,
    upload_model,
)
from tests.stack import Stack
from tests.webhook_receiver import Receiver


@pytest.fixture(scope="module")
def mstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of its own whose workers run the drift check every half second."""
    stack = Stack(tmp_path_factory.mktemp("monitoring"), monitoring_check_seconds="0.5")
    with stack.running(workers=2):
        yield stack


@pytest.fixture
def mapi(mstack: Stack) -> Iterator[httpx.Client]:
    """A client of that stack with its admin key (tenant default)."""
    with mstack.client(timeout=60) as client:
        yield client


def test_same_distribution_has_psi_under_0_05_and_a_one_sd_shift_over_0_25(
    mapi: httpx.Client,
) -> None:
    """Against a 5,000-row reference, 10,000 rows like it score PSI < 0.05 on every feature;
    with x moved by one standard deviation x scores PSI > 0.25 and y stays under 0.05.

    The same traffic goes through the batcher (JSON job) and the chunk path (CSV job)."""
    name = upload_model(mapi, numeric_model())
    upload_model(mapi, numeric_model(), name)
    reference = traffic(5_000, seed=1)[["x", "y"]]
    for version in (1, 2):
        answer = put_reference_file(mapi, name, version, reference)
        assert answer.status_code == 200, answer.text
        assert answer.json()["source"] == "file" and answer.json()["rows"] == 5_000
        assert len(answer.json()["features"]["x"]["counts"]) == 10
    score_json(mapi, f"{name}@1", traffic(10_000, seed=2)[["x", "y"]])
    score_csv(mapi, f"{name}@2", traffic(10_000, seed=3, shift=1.0)[["x", "y"]])
    same, shifted = counted(mapi, name, 1, 10_000), counted(mapi, name, 2, 10_000)
    assert same["rows"] == 10_000 and shifted["rows"] == 10_000
    assert same["reference"]["provisional"] is False
    assert same["features"]["x"]["psi"] < 0.05 and same["features"]["y"]["psi"] < 0.05
    assert shifted["features"]["x"]["psi"] > 0.25, shifted["features"]["x"]
    assert shifted["features"]["y"]["psi"] < 0.05
    assert same["prediction"]["psi"] < 0.05 and shifted["prediction"]["psi"] > 0.05
    assert set(same["prediction"]["class_shares"]) == {"no", "yes", "other"}
    histogram = shifted["features"]["x"]["histogram"]
    assert sum(histogram["window"]) == 10_000 and len(histogram["edges"]) == 11
    assert shifted["prediction"]["timeline"], "the predictions over time are listed"


def test_the_first_10000_rows_become_a_provisional_reference(mapi: httpx.Client) -> None:
    """With no reference, the answer has no rows and null PSI; 10,000 rows scored become the
    provisional reference (said so), and a reference set later replaces it."""
    name = upload_model(mapi, numeric_model())
    empty = monitoring(mapi, name, 1)
    assert empty["rows"] == 0 and empty["reference"] is None
    assert empty["features"]["x"]["psi"] is None and empty["prediction"]["psi"] is None
    score_json(mapi, name, traffic(4_000, seed=4)[["x", "y"]])
    collecting = eventually(  # a worker sends the rows it holds within FLUSH_SECONDS
        lambda: (
            (answer := monitoring(mapi, name, 1))["provisional_rows_collected"] == 4_000 and answer
        ),
        "the 4,000 rows collected",
    )
    assert collecting["reference"] is None
    score_json(mapi, name, traffic(6_000, seed=5)[["x", "y"]])
    provisional = counted(mapi, name, 1, 10_000)
    assert provisional["reference"]["provisional"] is True
    assert provisional["reference"]["source"] == "provisional"
    assert provisional["reference"]["rows"] == 10_000
    assert provisional["features"]["x"]["psi"] < 0.01
    set_now = put_reference_file(mapi, name, 1, traffic(1_000, seed=6)[["x", "y"]])
    assert set_now.status_code == 200, set_now.text
    replaced = monitoring(mapi, name, 1)
    assert replaced["reference"]["provisional"] is False and replaced["rows"] == 0


def test_missing_out_of_range_and_unseen_rates(mapi: httpx.Client) -> None:
    """A quarter of x missing and a quarter beyond the reference's range; a quarter of the
    plans never seen in the reference: each rate is 0.25."""
    numeric = upload_model(mapi, numeric_model())
    assert put_reference_file(mapi, numeric, 1, traffic(1_000, seed=7)).status_code == 200
    rows = traffic(400, seed=8)[["x", "y"]]
    rows.loc[:99, "x"] = np.nan
    rows.loc[100:199, "x"] = 1_000.0
    rows.loc[200:, "x"] = rows.loc[200:, "x"].clip(-1, 1)  # well inside the reference's range
    score_json(mapi, numeric, rows)
    x = counted(mapi, numeric, 1, 400)["features"]["x"]
    assert x["missing_rate"] == 0.25 and x["out_of_range_rate"] == 0.25

    plans = upload_model(mapi, plan_model())
    assert put_reference_file(mapi, plans, 1, traffic(1_000, seed=9)).status_code == 200
    rows = traffic(400, seed=10)[["x", "plan"]]
    rows.loc[:99, "plan"] = "enterprise"
    score_csv(mapi, plans, rows)
    plan = counted(mapi, plans, 1, 400)["features"]["plan"]
    assert plan["unseen_rate"] == 0.25 and plan["missing_rate"] == 0.0
    assert plan["histogram"]["categories"][-1] == "other"


def test_windows_and_a_reference_from_a_succeeded_job(mapi: httpx.Client) -> None:
    """A job's inputs make a reference; the 1h, 24h and 7d windows count the same fresh rows;
    an unknown window is a 422 naming it."""
    name = upload_model(mapi, numeric_model())
    job = score_json(mapi, name, traffic(500, seed=11)[["x", "y"]])
    taken = mapi.put(f"/v1/models/{name}/versions/1/reference", json={"job": job})
    assert taken.status_code == 200, taken.text
    assert taken.json()["source"] == "job" and taken.json()["job"] == job
    score_json(mapi, name, traffic(300, seed=12)[["x", "y"]])
    counted(mapi, name, 1, 300)
    for window in ("1h", "24h", "7d"):
        assert monitoring(mapi, name, 1, window)["rows"] == 300
    bad = mapi.get(f"/v1/models/{name}/versions/1/monitoring", params={"window": "2h"})
    assert_problem(bad, 422, "window")


def test_bad_references_are_422_naming_what_is_wrong(mapi: httpx.Client) -> None:
    """A reference missing a feature names it; fewer than 100 rows is refused; an unknown or
    unfinished job is named; an unknown version is 404."""
    name = upload_model(mapi, numeric_model())
    no_y = put_reference_file(mapi, name, 1, traffic(500, seed=13)[["x"]])
    assert_problem(no_y, 422, "y", "file")
    short = put_reference_file(mapi, name, 1, traffic(99, seed=14)[["x", "y"]])
    assert_problem(short, 422, "99 rows", "100")
    unknown = mapi.put(f"/v1/models/{name}/versions/1/reference", json={"job": "job_nope"})
    assert_problem(unknown, 422, "job_nope", "job")
    neither = mapi.put(f"/v1/models/{name}/versions/1/reference", json={"rows": 3})
    assert_problem(neither, 422, "job")
    missing = put_reference_file(mapi, name, 7, traffic(500, seed=15)[["x", "y"]])
    assert_problem(missing, 404)


def test_another_tenants_private_model_is_404(mapi: httpx.Client, mstack: Stack) -> None:
    """Another tenant neither reads a private model's monitoring nor sets its reference or
    alerts: each answer is 404."""
    name = upload_model(mapi, numeric_model())
    clients = TenantClients(mstack)
    try:
        other = clients(scopes=("jobs:write", "jobs:read", "models:write"))
        assert_problem(other.get(f"/v1/models/{name}/versions/1/monitoring"), 404)
        reference = traffic(200, seed=16)[["x", "y"]]
        assert_problem(put_reference_file(other, name, 1, reference), 404)
        alert = other.put(f"/v1/models/{name}/monitoring", json={"psi_threshold": 0.1})
        assert_problem(alert, 404)
    finally:
        clients.close()


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    """A webhook receiver process answering 200."""
    with open(tmp_path / "receiver.log", "ab") as log:
        started = Receiver(free_port(), log).start()
        try:
            yield started
        finally:
            started.stop()


def test_drift_past_the_threshold_sends_one_signed_webhook_and_sets_the_gauges(
    mapi: httpx.Client, mstack: Stack, receiver: Receiver
) -> None:
    """Shifted traffic past `psi_threshold` sends one signed `model.drift` webhook naming the
    feature, once in the window, and /metrics exports the PSI gauges."""
    secret = mapi.post("/v1/webhook-secrets", json={"previous_valid_seconds": 0}).json()["secret"]
    name = upload_model(mapi, numeric_model())
    assert put_reference_file(mapi, name, 1, traffic(2_000, seed=17)).status_code == 200
    settings = {"psi_threshold": 0.25, "min_rows": 1000, "webhook": {"url": receiver.url}}
    configured = mapi.put(f"/v1/models/{name}/monitoring", json=settings)
    assert configured.status_code == 200, configured.text
    assert configured.json()["window"] == "1h"
    score_csv(mapi, name, traffic(5_000, seed=18, shift=1.5)[["x", "y"]])
    [request] = eventually(receiver.received, "a drift webhook arrives")
    payload = Webhook(secret).verify(request["body"], request["headers"])
    assert payload["type"] == "model.drift"
    assert payload["data"]["model"] == {"name": name, "version": 1}
    assert set(payload["data"]["features"]) == {"x"} and payload["data"]["rows"] == 5_000

    def gauge_line() -> str | None:
        text = mapi.get("/metrics").text
        wanted = f'inferq_feature_drift_psi{{feature="x",model="{name}",version="1"}}'
        return next((line for line in text.splitlines() if line.startswith(wanted)), None)

    assert float(eventually(gauge_line, "the x gauge is exported").split()[-1]) > 0.25
    assert f'inferq_prediction_drift_psi{{model="{name}",version="1"}}' in mapi.get("/metrics").text
    redis = mstack.redis()
    redis.delete("inferq:monitor:psi")
    eventually(lambda: redis.exists("inferq:monitor:psi"), "the check runs again")
    assert len(receiver.received()) == 1, "a second alert in the same window"


def test_a_reference_part_at_upload_becomes_the_versions_reference(mapi: httpx.Client) -> None:
    """A `reference` part sent with the artifact is profiled at once; one of too few rows is a
    422 naming it, and no version is registered."""
    name = f"mon-{uuid.uuid4().hex[:8]}"
    artifact = dump_skops(numeric_model())
    form = {"trusted_types": ",".join(untrusted_types(artifact))}

    def upload(rows: int) -> httpx.Response:
        csv = traffic(rows, seed=30)[["x", "y"]].to_csv(index=False).encode()
        files = {
            "file": ("model.skops", artifact, "application/octet-stream"),
            "reference": ("train.csv", csv, "text/csv"),
        }
        return mapi.post(f"/v1/models/{name}/versions", files=files, data=form, timeout=180)

    assert_problem(upload(50), 422, "reference", "50 rows")
    assert mapi.get(f"/v1/models/{name}").status_code == 404
    assert upload(800).status_code == 201
    answer = monitoring(mapi, name, 1)
    assert answer["reference"]["source"] == "file" and answer["reference"]["rows"] == 800
    assert answer["rows"] == 0 and answer["features"]["x"]["psi"] is None


def test_a_complete_sample_whose_builder_died_is_built_by_the_next_worker(
    mapi: httpx.Client, mstack: Stack
) -> None:
    """10,000 collected rows and no reference, as a worker that died while building leaves
    them: the next batch scored for the version builds the provisional reference from them."""
    name = upload_model(mapi, numeric_model())
    left = traffic(10_000, seed=40)[["x", "y"]]
    redis = mstack.redis()
    redis.set(f"inferq:monitor:{name}:1:provisional:rows", 10_000)
    redis.rpush(f"inferq:monitor:{name}:1:provisional:sample", orjson.dumps(left.to_dict("list")))
    assert monitoring(mapi, name, 1)["reference"] is None
    score_json(mapi, name, traffic(50, seed=41)[["x", "y"]])
    built = counted(mapi, name, 1, 10_000)
    assert built["reference"]["provisional"] is True and built["reference"]["rows"] == 10_000
