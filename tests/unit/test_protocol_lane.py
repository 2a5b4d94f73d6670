"""The protocol lane takes exactly the protocols' scoring paths, and names the model as the
routes did; any other path goes on to FastAPI."""

from __future__ import annotations

from functools import partial

import pytest

from api.protocols.endpoints import mlflow_invoke, tfserving_verb, v2_infer
from api.protocols.lane import endpoint_of


@pytest.mark.parametrize(
    ("path", "function", "arguments"),
    [
        ("/v2/models/iris/infer", v2_infer, {"ref": "iris"}),
        ("/v2/models/iris/versions/2/infer", v2_infer, {"ref": "iris@2"}),
        ("/v2/models/iris/versions/prod/infer", v2_infer, {"ref": "iris@prod"}),
        ("/v1/models/iris:predict", tfserving_verb, {"ref": "iris", "verb": "predict"}),
        (
            "/v1/models/iris/versions/3:classify",
            tfserving_verb,
            {"ref": "iris@3", "verb": "classify"},
        ),
        (
            "/v1/models/iris/labels/canary:regress",
            tfserving_verb,
            {"ref": "iris@canary", "verb": "regress"},
        ),
        ("/v1/models/iris:explain", tfserving_verb, {"ref": "iris", "verb": "explain"}),
        ("/v1/models/iris/invocations", mlflow_invoke, {"ref": "iris"}),
    ],
)
def test_scoring_paths_reach_their_endpoint_with_the_model_reference(
    path: str, function: object, arguments: dict[str, str]
) -> None:
    """Each scoring path maps to its endpoint and the reference `name[@version|alias]`."""
    endpoint = endpoint_of(path)
    assert isinstance(endpoint, partial)
    assert endpoint.func is function and endpoint.keywords == arguments


def test_invocations_serve_the_configured_model() -> None:
    """`/invocations` names no model: the endpoint takes INFERQ_INVOCATIONS_MODEL."""
    assert endpoint_of("/invocations") is mlflow_invoke


def test_a_version_that_is_not_a_number_is_refused_by_the_endpoint() -> None:
    """`/versions/x:predict` reaches the endpoint with a refusal (a 400 in TF's shape)."""
    endpoint = endpoint_of("/v1/models/iris/versions/x:predict")
    assert isinstance(endpoint, partial) and "number" in endpoint.keywords["refusal"]


@pytest.mark.parametrize(
    "path",
    [
        "/v1/jobs",
        "/v1/models/iris/versions",
        "/v1/models/iris",
        "/v1/models//invocations",
        "/v2/models//infer",
        "/v2/models/iris/ready",
        "/v2/models/iris/versions/1/ready",
        "/v1/models/:predict",
        "/v1/models/iris/aliases/x:predict",
    ],
)
def test_other_paths_go_on_to_fastapi(path: str) -> None:
    """Uploads, model reads, health and malformed paths are not the lane's."""
    assert endpoint_of(path) is None
