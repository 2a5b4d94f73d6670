"""The multi-host harness itself: every part runs on its own host, reachable only at its
host's address on the bridge, and a job goes through them all."""

from __future__ import annotations

import httpx
import pytest
import redis

from tests.host_load import Load, check
from tests.hosts import REDIS_PORT, HostStack


def test_every_part_runs_on_its_own_host(hosts: HostStack) -> None:
    """Redis, its replica, moto, the API and both workers each run in their host's namespace,
    the replica replicates the primary the Sentinels name, and the API does not answer on the
    machine's loopback."""
    for role in ("redis1", "redis2", "s3", "api", "worker1", "worker2"):
        assert hosts.hosts[role].pids(), f"nothing runs on {role}"
    assert hosts.api is not None and hosts.api.pid in hosts.hosts["api"].pids()
    primary = hosts.primary_role()  # redis1 unless a chaos test moved it
    replica = "redis2" if primary == "redis1" else "redis1"
    server = redis.Redis(host=hosts.hosts[replica].address, port=REDIS_PORT)
    assert server.info("replication")["role"] == "slave"
    with pytest.raises(httpx.HTTPError):
        httpx.get("http://127.0.0.1:8000/healthz", timeout=1)


def test_a_load_across_hosts_ends_with_every_row_once(hosts: HostStack) -> None:
    """Small jobs and uploads from the machine reach the API host, are scored on the worker
    hosts with S3 storage, and every webhook reaches the receiver on the bridge."""
    load = Load.for_new_tenant(hosts, hosts.receiver.url).start()
    try:
        load.wait_accepted(30)
    finally:
        load.stop()
    tally = check(load, hosts.receiver.received)
    assert tally["succeeded"] == tally["accepted"] > 0, tally
    assert sum(tally[k] for k in ("missing", "duplicated", "out_of_order", "wrong")) == 0, tally
    assert tally["hooks_missing"] == 0, tally
