"""A bounded HTTP load generator: N one-row jobs through `POST /v1/jobs?wait=`, C at a time.

Each of the C virtual clients holds one keep-alive HTTP/1.1 connection and sends its jobs one
after another. The client side is a few lines over asyncio streams on purpose: httpx's connection
pool spends ~20 ms of CPU per request at 64 connections (it checks every pooled connection on
every request), so with it the benchmark measured the client, not inferq (py-spy, issue 6).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from typing import Any
from urllib.parse import urlsplit

import orjson

_QUERY = "wait=30&include=results"
_PATH = f"/v1/jobs?{_QUERY}"
_UNFINISHED = {"queued", "running", "cancelling"}


class HttpClient:
    """One keep-alive HTTP/1.1 connection that POSTs JSON and reads answers with a length."""

    def __init__(self, url: str, key: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.head = (
            f"Host: {parts.netloc}\r\nAuthorization: Bearer {key}\r\n"
            "Content-Type: application/json\r\n"
        ).encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
        """The status and body of `POST path` with `body` as JSON."""
        return await self.request(b"POST", path, orjson.dumps(body))

    async def request(self, method: bytes, path: str, payload: bytes = b"") -> tuple[int, bytes]:
        """The status and body of one request on the kept-alive connection."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(
            b"%s %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s"
            % (method, path.encode(), self.head, len(payload), payload)
        )
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = _content_length(head)
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        """Close the connection."""
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    raise RuntimeError(f"answer without Content-Length: {head[:200]!r}")


async def _run_jobs(
    url: str, key: str, bodies: list[dict[str, Any]], concurrency: int
) -> list[float]:
    """Latencies (s) of each job from submit to its result in the answer."""
    latencies: list[float] = []
    pending = iter(bodies)

    async def client() -> None:
        http = HttpClient(url, key)
        try:
            for body in pending:
                start = time.perf_counter()
                status, raw = await http.post(_PATH, body)
                job = orjson.loads(raw)
                while status in (200, 202) and job.get("status") in _UNFINISHED:
                    # Not ended within the wait (the naive design under load): wait again.
                    status, raw = await http.request(b"GET", f"/v1/jobs/{job['id']}?{_QUERY}")
                    job = orjson.loads(raw)
                if status != 200 or job.get("results") is None:
                    raise RuntimeError(f"job did not end with results: {status} {raw[:300]!r}")
                latencies.append(time.perf_counter() - start)
        finally:
            await http.close()

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return latencies


def _process_main(args: tuple[str, str, list[dict[str, Any]], int]) -> list[float]:
    return asyncio.run(_run_jobs(*args))


def run_load(
    url: str, key: str, bodies: list[dict[str, Any]], concurrency: int, processes: int = 1
) -> tuple[list[float], float]:
    """Run every job, split over client processes; returns latencies and wall seconds."""
    shares = [bodies[i::processes] for i in range(processes)]
    per_process = max(1, concurrency // processes)
    start = time.perf_counter()
    if processes == 1:
        latencies = _process_main((url, key, bodies, concurrency))
    else:
        with multiprocessing.get_context("spawn").Pool(processes) as pool:
            jobs = [(url, key, share, per_process) for share in shares]
            parts = pool.map(_process_main, jobs)
        latencies = [value for part in parts for value in part]
    return latencies, time.perf_counter() - start
