"""Chaos across hosts (issue 20): under a steady load of small jobs, uploads and webhooks, a
worker host killed or cut off and the API host restarted lose no accepted job and score no
row twice. Workers reach Redis on redis1 directly; the leases and timeouts are short
(tests/hosts.py SHORT_TIMEOUTS), everything finds Redis through the Sentinels, and
INFERQ_REDIS_MIN_REPLICAS=1. The longer runs with counts, and the primary's host killed with
MIN_REPLICAS=0 (what that loses is counted, not asserted), are `bench/chaos_hosts.py`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.host_chaos import (
    cut_worker_host,
    kill_primary_host,
    kill_worker_host,
    make_whole,
    restart_api_host,
)
from tests.host_load import Load, check
from tests.hosts import SHORT_TIMEOUTS, HostStack

CUT_SECONDS = 2 * float(SHORT_TIMEOUTS["visibility_timeout"])
"""Longer than the visibility timeout of the chunks and the lease of the small jobs."""

LOSSES = ("lost", "failed", "missing", "duplicated", "out_of_order", "wrong", "miscounted")


@pytest.fixture
def whole(hosts: HostStack) -> HostStack:
    """The hosts' stack with every worker host up and cabled and the API running."""
    make_whole(hosts)
    return hosts


def under_load(
    stack: HostStack, disrupt: Callable[[], Any], **options: Any
) -> tuple[Counter[str], Any, Load]:
    """Start a load as a new tenant, disrupt once it runs, let 20 more jobs be accepted after,
    stop it; what became of it, what `disrupt` answered and the load."""
    load = Load.for_new_tenant(stack, stack.receiver.url, **options).start()
    try:
        load.wait_accepted(10)
        outcome = disrupt()
        load.wait_accepted(len(load.accepted) + 20, seconds=120)
    finally:
        load.stop()
    return check(load, stack.receiver.received), outcome, load


def assert_every_accepted_job_succeeded_once(tally: Counter[str]) -> None:
    """Every accepted job succeeded with each of its rows once, in order, rightly scored, and
    its webhook arrived."""
    assert tally["succeeded"] == tally["accepted"] > 0, tally
    assert {name: tally[name] for name in LOSSES} == dict.fromkeys(LOSSES, 0), tally
    assert tally["hooks_missing"] == 0, tally


def test_a_worker_host_killed_mid_chunk_loses_no_job(whole: HostStack) -> None:
    """SIGKILL of every process on worker1 while it scores a chunk: worker2 takes over what it
    held, every accepted job succeeds with every row once and in order, and no job is left
    that was not acknowledged."""
    tally, killed, _ = under_load(whole, lambda: kill_worker_host(whole, "worker1"))
    assert killed >= 2, "the worker's main process and its pool"
    assert_every_accepted_job_succeeded_once(tally)
    assert tally["unaccounted"] == tally["interrupted"] == 0, tally


def test_a_worker_host_cut_off_past_its_leases_scores_no_row_twice(whole: HostStack) -> None:
    """worker1's cable pulled while it scores a chunk, for twice the visibility timeout, then
    plugged back: what it held is scored by worker2, what worker1 finishes late is not counted
    again, and every job's results hold each row once."""
    tally, _, _ = under_load(whole, lambda: cut_worker_host(whole, "worker1", CUT_SECONDS))
    assert_every_accepted_job_succeeded_once(tally)
    assert tally["unaccounted"] == tally["interrupted"] == 0, tally


def test_an_api_host_restart_fails_only_the_uploads_in_flight(whole: HostStack) -> None:
    """The API host killed while uploads stream in and started again: the uploads it was
    taking in fail `intake_interrupted`; every job it had accepted, and every one after,
    succeeds with its rows and webhook."""
    tally, held, _ = under_load(
        whole,
        lambda: restart_api_host(whole),
        file_clients=2,
        csv_rows=3000,
        upload_pieces=10,
        piece_pause=0.15,
    )
    assert held, "an upload was in flight"
    assert_every_accepted_job_succeeded_once(tally)
    assert tally["interrupted"] >= 1 and tally["unaccounted"] == 0, tally
    with httpx.Client(
        base_url=whole.api_url, headers={"Authorization": f"Bearer {whole.admin_key}"}
    ) as http:
        for job_id in held:
            answer = http.get(f"/v1/jobs/{job_id}")
            assert answer.status_code == 200 or answer.status_code == 404, answer.text


def test_a_primary_host_killed_loses_no_acknowledged_job(whole: HostStack) -> None:
    """Every process on the Redis primary's host SIGKILLed under load (MIN_REPLICAS=1): the
    Sentinels promote the replica, the host comes back as a replica, every job acknowledged
    before or after succeeds with its rows once, and the API answers nothing but 503 during the
    switch and no 503 once it accepts jobs again after the promotion."""
    tally, switch, load = under_load(whole, lambda: kill_primary_host(whole))
    assert switch.new != switch.old
    assert_every_accepted_job_succeeded_once(tally)
    assert tally["unaccounted"] == tally["interrupted"] == 0, tally
    after_kill = load.answers_since(switch.killed_at)
    assert {answer for _, answer in after_kill} <= {"200", "202", "503"}, after_kill
    serving = next(t for t, a in after_kill if t > switch.promoted_at and a in ("200", "202"))
    assert [a for t, a in after_kill if t > serving and a == "503"] == [], after_kill
