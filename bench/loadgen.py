"""A bounded HTTP load generator: N one-row jobs, C at a time, in one of three protocols.

Each job is an inferq job body (`{"model": ..., "dataframe_records": [...]}`); the protocol decides
how it travels:
  - `one-request`: `POST /v1/jobs?wait=30&include=results`, the answer carries the results;
  - `submit-poll`: `POST /v1/jobs`, then long-poll `GET /v1/jobs/{id}?wait=10&include=results`
    until the job has ended (the flow a newcomer writes first);
  - `v2-infer`: `POST /v2/models/{model}/infer` with the rows as one FP64 tensor (Open Inference
    Protocol; MLServer today, inferq's own v2 route later: issue 19).

Each of the C virtual clients holds one keep-alive HTTP/1.1 connection and sends its jobs one
after another. Every job's request body is serialized before the clock starts, as wrk sends a
fixed body: building a 1,000-row JSON tensor costs the client ~1 ms, which would otherwise take
the two cores from the server being measured. The client side is a few lines over asyncio
streams on purpose: httpx's connection pool spends ~20 ms of CPU per request at 64 connections
(it checks every pooled connection on every request), so with it the benchmark measured the
client, not inferq (py-spy, issue 6).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

_ONE_REQUEST = "/v1/jobs?wait=30&include=results"
_POLL_QUERY = "wait=10&include=results"
_UNFINISHED = {"queued", "running", "cancelling"}
RUN_TIMEOUT_SECONDS = 900.0
"""Longest one load run may take; past it the run fails instead of hanging on a stuck server."""


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


@dataclass(frozen=True)
class Prepared:
    """One job's first request, serialized before the timed run (as wrk sends a fixed body):
    the client's cost per job is then sending and reading, not building JSON."""

    path: str
    payload: bytes


def job_request(path: str) -> Callable[[dict[str, Any]], Prepared]:
    """The job body as it is, POSTed to `path`."""
    return lambda body: Prepared(path, orjson.dumps(body))


def v2_request(body: dict[str, Any]) -> Prepared:
    """The job's rows as one Open Inference Protocol FP64 tensor."""
    rows = body["dataframe_records"]
    request = {
        "inputs": [
            {
                "name": "input-0",
                "shape": [len(rows), len(rows[0])],
                "datatype": "FP64",
                "data": [value for row in rows for value in row.values()],
            }
        ]
    }
    return Prepared(f"/v2/models/{body['model']}/infer", orjson.dumps(request))


async def one_request(http: HttpClient, job: Prepared) -> None:
    """One job in one request that waits for its results (polls on only if the wait ran out)."""
    status, raw = await http.request(b"POST", job.path, job.payload)
    await _poll_until_ended(http, status, raw)


async def submit_poll(http: HttpClient, job: Prepared) -> None:
    """Submit without waiting, then long-poll the job until it has ended with its results."""
    status, raw = await http.request(b"POST", job.path, job.payload)
    if status not in (200, 202):
        raise RuntimeError(f"submission refused: {status} {raw[:300]!r}")
    job_id = orjson.loads(raw)["id"]
    status, raw = await http.request(b"GET", f"/v1/jobs/{job_id}?{_POLL_QUERY}")
    await _poll_until_ended(http, status, raw)


async def _poll_until_ended(http: HttpClient, status: int, raw: bytes) -> None:
    job = orjson.loads(raw)
    while status in (200, 202) and job.get("status") in _UNFINISHED:
        status, raw = await http.request(b"GET", f"/v1/jobs/{job['id']}?{_POLL_QUERY}")
        job = orjson.loads(raw)
    if status != 200 or job.get("results") is None:
        raise RuntimeError(f"job did not end with results: {status} {raw[:300]!r}")


async def v2_infer(http: HttpClient, job: Prepared) -> None:
    """One Open Inference Protocol request; fails unless it answers outputs."""
    status, raw = await http.request(b"POST", job.path, job.payload)
    if status != 200 or not orjson.loads(raw).get("outputs"):
        raise RuntimeError(f"infer failed: {status} {raw[:300]!r}")


Send = Callable[[HttpClient, Prepared], Awaitable[None]]
PROTOCOLS: dict[str, tuple[Callable[[dict[str, Any]], Prepared], Send]] = {
    "one-request": (job_request(_ONE_REQUEST), one_request),
    "submit-poll": (job_request("/v1/jobs"), submit_poll),
    "v2-infer": (v2_request, v2_infer),
}


async def _run_jobs(
    url: str, key: str, bodies: list[dict[str, Any]], concurrency: int, protocol: str
) -> tuple[list[float], float, float]:
    """Latencies (s) of each job from its first byte sent to its results received, and the
    monotonic clock (shared by the processes of the machine) when the run began and ended."""
    prepare, send = PROTOCOLS[protocol]
    latencies: list[float] = []
    pending = iter([prepare(body) for body in bodies])  # before the clock starts

    async def client() -> None:
        http = HttpClient(url, key)
        try:
            for job in pending:
                start = time.perf_counter()
                await send(http, job)
                latencies.append(time.perf_counter() - start)
        finally:
            await http.close()

    began = time.perf_counter()
    async with asyncio.timeout(RUN_TIMEOUT_SECONDS):
        await asyncio.gather(*(client() for _ in range(concurrency)))
    return latencies, began, time.perf_counter()


def _process_main(
    args: tuple[str, str, list[dict[str, Any]], int, str],
) -> tuple[list[float], float, float]:
    return asyncio.run(_run_jobs(*args))


def run_load(
    url: str,
    key: str,
    bodies: list[dict[str, Any]],
    concurrency: int,
    processes: int = 1,
    protocol: str = "one-request",
) -> tuple[list[float], float]:
    """Run every job, split over client processes; returns latencies and wall seconds.

    The wall time runs from the first client's start to the last one's end, so starting the
    client processes is not counted against the server.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; one of {', '.join(PROTOCOLS)}")
    processes = max(1, min(processes, concurrency))
    if processes == 1:
        parts = [_process_main((url, key, bodies, concurrency, protocol))]
    else:
        shares = [bodies[i::processes] for i in range(processes)]
        per_process = max(1, concurrency // processes)
        with multiprocessing.get_context("spawn").Pool(processes) as pool:
            jobs = [(url, key, share, per_process, protocol) for share in shares]
            parts = pool.map(_process_main, jobs)
    latencies = [value for part, _, _ in parts for value in part]
    wall = max(end for _, _, end in parts) - min(began for _, began, _ in parts)
    return latencies, wall
