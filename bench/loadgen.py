"""A bounded HTTP load generator: N one-row jobs through `POST /v1/jobs?wait=`, C at a time."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from typing import Any

import httpx


async def _run_jobs(
    url: str, key: str, bodies: list[dict[str, Any]], concurrency: int
) -> list[float]:
    """Latencies (s) of each job from submit to its result in the answer."""
    latencies: list[float] = []
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(
        base_url=url, timeout=60, limits=limits, headers=headers
    ) as client:

        async def worker() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                start = time.perf_counter()
                response = await client.post(
                    "/v1/jobs", params={"wait": 30, "include": "results"}, json=body
                )
                job = response.json()
                if response.status_code != 200 or job.get("results") is None:
                    raise RuntimeError(f"job did not end with results: {response.text[:300]}")
                latencies.append(time.perf_counter() - start)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
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
