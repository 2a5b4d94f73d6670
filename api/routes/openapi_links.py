"""OpenAPI links: how a value in one answer feeds the next request (clients and fuzzers follow
them from /openapi.json)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote


def link(
    path: str, method: str, description: str, body: Any = None, **parameters: str
) -> dict[str, Any]:
    """A link to the operation at `path` and `method`, filling its parameters (and `body`)
    from runtime expressions such as `$response.body#/id` or `$request.path.name`."""
    pointer = quote(path.replace("~", "~0").replace("/", "~1"), safe="~")
    found: dict[str, Any] = {
        "operationRef": f"#/paths/{pointer}/{method}",
        "parameters": parameters,
        "description": description,
    }
    if body is not None:
        found["requestBody"] = body
    return found
