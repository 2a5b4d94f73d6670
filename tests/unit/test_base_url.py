"""The remembered base URL is Starlette's own, per scheme, Host header and root path."""

from __future__ import annotations

from starlette.requests import Request

from api import deps


def _request(host: str, scheme: str = "http", root_path: str = "") -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/v1/jobs/x",
        "root_path": root_path,
        "scheme": scheme,
        "server": ("127.0.0.1", 8000),
        "query_string": b"",
        "headers": [(b"host", host.encode())],
    }
    return Request(scope)


def test_each_host_scheme_and_root_path_gets_its_own_base_url() -> None:
    """Requests differing in Host, scheme or root path get what Starlette would build."""
    for request in (
        _request("api.example.com"),
        _request("api.example.com", scheme="https"),
        _request("10.0.0.5:8443", scheme="https"),
        _request("api.example.com", root_path="/inferq"),
    ):
        assert deps.base_url(request) == str(request.base_url)
        assert deps.base_url(request) == str(request.base_url)  # from memory, the same


def test_clients_cannot_grow_the_memory_without_bound() -> None:
    """Past the kept number of Host headers, URLs are built each time, still right."""
    for n in range(deps._BASE_URLS_KEPT * 2):
        request = _request(f"host{n}.example.com")
        assert deps.base_url(request) == f"http://host{n}.example.com/"
    assert len(deps._BASE_URLS) <= deps._BASE_URLS_KEPT
