"""Every protocol's client mistakes: a 4xx in the protocol's own error shape, never a 500."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import skops.io

from inferq.storage import Storage
from models.artifacts import untrusted_types
from models.registry import ModelRegistry
from models.schema import describe
from tests.helpers import TenantClients, reference_model
from tests.stack import Stack

ROW = [5.1, 3.5, 1.4, 0.2]


@dataclass(frozen=True)
class Protocol:
    """How one protocol addresses a model and carries rows, and what its errors look like."""

    name: str
    path: Callable[[str], str]
    body: Callable[[list[list[Any]]], dict[str, Any]]
    error_keys: frozenset[str]


def v2_body(rows: list[list[Any]]) -> dict[str, Any]:
    """One [N, F] tensor."""
    width = len(rows[0]) if rows else 4
    data = [value for row in rows for value in row]
    tensor = {"name": "input-0", "shape": [len(rows), width], "datatype": "FP64", "data": data}
    return {"inputs": [tensor]}


PROTOCOLS = [
    Protocol("v2", lambda ref: f"/v2/models/{ref}/infer", v2_body, frozenset({"error"})),
    Protocol(
        "tfserving",
        lambda ref: f"/v1/models/{ref}:predict",
        lambda rows: {"instances": rows},
        frozenset({"error"}),
    ),
    Protocol(
        "mlflow",
        lambda ref: f"/v1/models/{ref}/invocations",
        lambda rows: {"inputs": rows},
        frozenset({"error_code", "message"}),
    ),
]


def refused(response: httpx.Response, protocol: Protocol, status: int, mention: str) -> None:
    """The answer has `status`, the protocol's error keys only, and a message naming `mention`."""
    assert response.status_code == status, (protocol.name, response.status_code, response.text)
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == protocol.error_keys, body
    message = body.get("error") or body["message"]
    assert mention in message, (protocol.name, message)


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name)
def test_bad_requests_are_refused_in_the_protocols_shape(
    api: httpx.Client, protocol: Protocol
) -> None:
    """Unknown model, version or alias 404; wrong feature count, non-numeric value, empty
    batch, malformed JSON 400; more rows than INFERQ_SYNC_MAX_ROWS 413 pointing to jobs."""
    good = protocol.body([ROW])
    cases: list[tuple[str, Any, int, str]] = [
        ("nope", good, 404, "nope"),
        ("iris@9", good, 404, "version 9"),
        ("iris@nightly", good, 404, "nightly"),
        ("iris", protocol.body([ROW[:3]]), 400, "4"),
        ("iris", protocol.body([[5.1, "wide", 1.4, 0.2]]), 400, "number"),
        ("iris", protocol.body([]), 400, "row"),
        ("iris", b'{"inputs": [', 400, "JSON"),
        ("iris", protocol.body([ROW] * 10_001), 413, "POST /v1/jobs"),
    ]
    for ref, body, status, mention in cases:
        if isinstance(body, bytes):
            response = api.post(
                protocol.path(ref), content=body, headers={"content-type": "application/json"}
            )
        else:
            response = api.post(protocol.path(ref), json=body)
        refused(response, protocol, status, mention)


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name)
def test_a_missing_or_bad_key_is_401_in_the_protocols_shape(
    stack: Stack, protocol: Protocol
) -> None:
    """No Authorization header, or a key that is not one, is 401 with WWW-Authenticate."""
    url = f"{stack.api_url}{protocol.path('iris')}"
    for headers in ({}, {"Authorization": "Bearer iqk_not_a_key"}):
        response = httpx.post(url, json=protocol.body([ROW]), headers=headers, timeout=30)
        refused(response, protocol, 401, "API key")
        assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name)
def test_another_tenants_private_model_is_404(
    stack: Stack, tenant_clients: TenantClients, protocol: Protocol
) -> None:
    """A model registered privately by one tenant does not exist for another (404), and scores
    for its owner."""
    owner = tenant_clients()
    name = f"private-{owner.tenant}"  # type: ignore[attr-defined]
    model = reference_model("iris")
    artifact = skops.io.dumps(model)
    registry = ModelRegistry(stack.redis(), Storage(stack.settings.data_url))
    registry.register(
        name,
        artifact,
        "skops",
        describe(model),
        tenant=owner.tenant,  # type: ignore[attr-defined]
        trusted_types=untrusted_types(artifact),
    )
    stranger = tenant_clients()
    refused(stranger.post(protocol.path(name), json=protocol.body([ROW])), protocol, 404, name)
    assert owner.post(protocol.path(name), json=protocol.body([ROW])).status_code == 200


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name)
def test_over_the_request_rate_is_429_in_the_protocols_shape(
    stack: Stack, api: httpx.Client, tenant_clients: TenantClients, protocol: Protocol
) -> None:
    """A tenant with a burst of 2 (refilled once a minute and more) gets its third request
    refused with 429 and Retry-After; refused requests count against the rate too."""
    hasty = tenant_clients()
    limits = {"rate_limit_burst": 2, "rate_limit_per_second": 0.01}
    path = f"/v1/tenants/{hasty.tenant}/limits"  # type: ignore[attr-defined]
    assert api.put(path, json=limits).status_code == 200
    answers = [hasty.post(protocol.path("iris"), json=protocol.body([ROW])) for _ in range(3)]
    assert [a.status_code for a in answers[:2]] == [200, 200]
    refused(answers[2], protocol, 429, "requests per second")
    assert int(answers[2].headers["retry-after"]) >= 1


def test_a_priority_rides_its_lane_and_an_unknown_one_is_400(api: httpx.Client) -> None:
    """`Inferq-Priority: high` is answered; a priority that is no lane is a 400 naming them."""
    body = {"instances": [ROW]}
    fast = api.post("/v1/models/iris:predict", json=body, headers={"Inferq-Priority": "high"})
    assert fast.status_code == 200 and fast.json() == {"predictions": ["setosa"]}
    wrong = api.post("/v1/models/iris:predict", json=body, headers={"Inferq-Priority": "urgent"})
    assert wrong.status_code == 400 and "high, normal, low" in wrong.json()["error"]
