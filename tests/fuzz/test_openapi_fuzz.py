"""Schemathesis against our own /openapi.json: no input, alone or in a chain of calls the schema's
links describe, gives a 5xx, an undocumented answer, or an error that is not problem+json."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis.generation.stateful.state_machine import DEFAULT_STATE_MACHINE_SETTINGS

from api.main import create_app
from inferq.api_keys import new_key
from tests.fuzz import bodies, hooks
from tests.stack import Stack

EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_EXAMPLES", "100"))
"""Examples per operation; FUZZ_EXAMPLES=1000 hunts longer."""
SCENARIOS = int(os.environ.get("FUZZ_SCENARIOS", "50"))
"""Chains of linked calls (POST /v1/jobs, then GET, cancel, delete, results...)."""
STEPS_PER_SCENARIO = 6


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of its own with one worker, and limits out of the way."""
    stack = Stack(
        Path(tmp_path_factory.mktemp("fuzz")),
        admin_key=ADMIN_KEY,
        max_jobs_in_flight="1000000",
        rate_limit_per_second="100000",
        rate_limit_burst="100000",
        # `?wait=` on a real job that does not end (linked calls) holds a call this long at most.
        max_wait_seconds="2",
    )
    with stack.running(workers=1):
        yield stack
    if tally := os.environ.get("FUZZ_TALLY"):
        rows = sorted(
            f"{phase} {label} {media} {status}: {n}"
            for (phase, label, media, status), n in hooks.TALLY.items()
        )
        Path(tally).write_text("\n".join(rows) + "\n")


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
# A copy: schemathesis adds the links it infers to the document it is given.
schema = schemathesis.openapi.from_dict(orjson.loads(orjson.dumps(OPENAPI)), config=CONFIG)
bodies.register()
hooks.install(schema)


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


class LinkedCalls(schema.as_state_machine()):  # type: ignore[misc]
    """Chains of calls along the schema's links, against the stack in `base_url`."""

    base_url = ""
    scenarios = 0

    def setup(self) -> None:
        type(self).scenarios += 1

    def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
        return {"base_url": self.base_url, "timeout": 30}


def test_linked_calls_keep_the_schema(fuzz_stack: Stack) -> None:
    """Submitting a job then polling, cancelling, deleting it or reading its results, uploading
    a model version then pointing an alias at it: no chain gives a 5xx or an undocumented
    answer."""
    LinkedCalls.base_url = fuzz_stack.api_url
    hooks.PHASE[0] = "linked"
    while LinkedCalls.scenarios < SCENARIOS:
        chains = settings(
            DEFAULT_STATE_MACHINE_SETTINGS,
            max_examples=SCENARIOS - LinkedCalls.scenarios,
            stateful_step_count=STEPS_PER_SCENARIO,
            database=None,
        )
        try:
            LinkedCalls.run(settings=chains)
        except FlakyStrategyDefinition:
            # A live server answers a replayed chain differently (a job list grew, a job
            # ended), so Hypothesis's record of earlier draws no longer fits; schemathesis's
            # own runner then goes on in a fresh session too. Every session runs a scenario.
            continue
