"""Session fixtures: one real stack (Redis server, two worker processes, uvicorn) for the suite,
and inferq spread over hosts of network namespaces for the tests that need several hosts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import netns
from tests.helpers import TenantClients
from tests.hosts import SHORT_TIMEOUTS, HostStack
from tests.netns import Network
from tests.stack import Stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The shared stack: demo models registered, one worker of two processes, the API."""
    stack = Stack(tmp_path_factory.mktemp("stack"))
    with stack.running(workers=2):
        yield stack


@pytest.fixture
def api(stack: Stack) -> Iterator[httpx.Client]:
    """An HTTP client of the shared stack's API, calling with the admin key of tenant default."""
    with stack.client(timeout=30) as client:
        yield client


@pytest.fixture
def isolated_stack(tmp_path: Path) -> Iterator[Stack]:
    """A stack of its own with Redis and demo models but no worker or API started yet."""
    stack = Stack(tmp_path / "isolated")
    try:
        stack.start_redis()
        stack.register_demo_models()
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def tenant_clients(stack: Stack) -> Iterator[TenantClients]:
    """Factory of clients of the shared stack with keys of other tenants and scopes."""
    clients = TenantClients(stack)
    try:
        yield clients
    finally:
        clients.close()


@pytest.fixture(scope="session")
def network() -> Iterator[Network]:
    """A private bridge for hosts made of network namespaces; skips without root and `ip`."""
    reason = netns.unavailable()
    if reason is not None:
        pytest.skip(reason)
    network = Network()
    try:
        yield network.up()
    finally:
        network.down()


@pytest.fixture(scope="session")
def hosts(network: Network, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostStack]:
    """inferq over hosts (tests/hosts.py) finding Redis through the Sentinels, with short leases
    and timeouts and INFERQ_REDIS_MIN_REPLICAS=1, every part running."""
    base = tmp_path_factory.mktemp("hosts")
    stack = HostStack(base, network, sentinel=True, **SHORT_TIMEOUTS)
    try:
        yield stack.start()
    finally:
        stack.stop()
