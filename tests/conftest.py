"""Session fixtures: one real stack (Redis server, two worker processes, uvicorn) for the suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import TenantClients
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
