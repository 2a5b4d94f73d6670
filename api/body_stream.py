"""Reading a request body piece by piece under a size limit."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from fastapi import Request

from api.errors import Problem


def check_declared_size(request: Request, limit: int) -> None:
    """413 at once when Content-Length already says the body is over `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Problem(413, f"body of {declared} bytes is over the limit of {limit} bytes")


async def limited_stream(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    """The body's pieces as they arrive; 413 as soon as they pass `limit` bytes."""
    check_declared_size(request, limit)
    size = 0
    async for piece in request.stream():
        size += len(piece)
        if size > limit:
            raise Problem(413, f"body is over the limit of {limit} bytes")
        if piece:
            yield piece


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The whole request body (for JSON jobs), refusing with 413 as soon as it passes `limit`."""
    check_declared_size(request, limit)
    size = 0
    pieces = []
    async for piece in request.stream():
        size += len(piece)
        if size > limit:
            raise Problem(413, f"body is over the limit of {limit} bytes")
        pieces.append(piece)
    return b"".join(pieces)
