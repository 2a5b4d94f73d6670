"""The lanes read the API key as FastAPI's `HTTPBearer` (the routes' reader) does."""

from __future__ import annotations

import asyncio

import pytest
from starlette.requests import Request

from api.deps import bearer, bearer_key


def _request(*authorization: bytes) -> Request:
    headers = [(b"authorization", value) for value in authorization]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})


@pytest.mark.parametrize(
    "header",
    [
        (b"Bearer iqk_abc",),
        (b"bearer iqk_abc",),
        (b"BEARER   iqk_abc  ",),
        (b"Bearer",),
        (b"Bearer ",),
        (b"Basic dXNlcjpwYXNz",),
        (b"iqk_abc",),
        (b"",),
        (),
        (b"Bearer a b",),
    ],
)
def test_the_same_key_or_none_as_http_bearer(header: tuple[bytes, ...]) -> None:
    request = _request(*header)
    credentials = asyncio.run(bearer(request))
    assert bearer_key(request) == (credentials.credentials if credentials else None)


def test_a_bearer_key_is_read_and_anything_else_is_none() -> None:
    assert bearer_key(_request(b"Bearer iqk_abc ")) == "iqk_abc"
    assert bearer_key(_request(b"Basic dXNlcjpwYXNz")) is None
    assert bearer_key(_request()) is None
