"""Schemathesis against our own /openapi.json: no input gives a 5xx or an undocumented answer."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from api.main import create_app
from inferq.api_keys import new_key
from tests.stack import Stack

EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_EXAMPLES", "30"))
"""Examples per operation; `make test PYTEST_ARGS=...` with FUZZ_EXAMPLES=500 hunts longer."""


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of its own with one worker, and limits out of the way."""
    stack = Stack(
        Path(tmp_path_factory.mktemp("fuzz")),
        admin_key=ADMIN_KEY,
        max_jobs_in_flight="1000000",
        rate_limit_per_second="100000",
        rate_limit_burst="100000",
    )
    with stack.running(workers=1):
        yield stack


# The schema is built from the app in this process (pytest parametrizes at collection, before
# the stack runs); the test below checks it is the one the running API serves.
# Schemathesis sends the admin key itself (the schema declares bearer auth), so it knows which
# requests carry it and can also check that leaving it out is refused.
ADMIN_KEY = new_key()
OPENAPI = create_app().openapi()
CONFIG = schemathesis.Config.from_dict(
    {
        "auth": {"openapi": {"HTTPBearer": {"bearer": ADMIN_KEY}}},
        # A schema-valid job can still be refused: whether rows fit depends on the model named
        # (422) and the tenant's limits (413); no JSON Schema can say that.
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2XX", "401", "403", "404", "409", "413", "422", "429"]
            }
        },
    }
)
schema = schemathesis.openapi.from_dict(OPENAPI, config=CONFIG)
# Raw file bodies (and the examples of them) go on the wire as they are, like `curl --data-binary`.
schemathesis.serializer.alias(
    ["application/x-ndjson", "application/vnd.apache.parquet"], "application/octet-stream"
)


def test_the_served_schema_is_the_fuzzed_one(fuzz_stack: Stack) -> None:
    """The running API publishes exactly the schema the fuzzer works from."""
    served = httpx.get(f"{fuzz_stack.api_url}/openapi.json").json()
    assert served == orjson.loads(orjson.dumps(OPENAPI))


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_api_keeps_its_schema(case: schemathesis.Case, fuzz_stack: Stack) -> None:
    """Every generated request gets a documented status, content type and body, never a 5xx."""
    case.call_and_validate(base_url=fuzz_stack.api_url, timeout=30)
