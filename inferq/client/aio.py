"""`AsyncClient`: the asyncio inferq client, method for method like `Client`."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from inferq.client import protocol as p
from inferq.client.errors import JobFailed, unreachable
from inferq.client.retries import DEFAULT_RETRIES, retry_delay
from inferq.client.sync import ProgressCallback


class AsyncClient:
    """Submit, follow and fetch inferq jobs from asyncio code (retries as `Client`'s)."""

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        timeout: float = 30.0,
        retries: int = DEFAULT_RETRIES,
    ) -> None:
        self.url = p.env_url(url)
        self.timeout = timeout
        self.retries = retries
        self._http = httpx.AsyncClient(
            base_url=self.url, headers=p.auth_headers(p.env_api_key(api_key)), timeout=timeout
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def submit(
        self, rows: p.Rows, model: str, *, idempotency_key: str | None = None, **options: Any
    ) -> p.Job:
        """Submit JSON rows (a DataFrame, records, instances or columns/data) for scoring."""
        body = {**p.job_options(model, **options), **p.rows_payload(rows)}
        headers = {"Idempotency-Key": idempotency_key or uuid.uuid4().hex}
        response = await self._request(
            "POST", "/v1/jobs", json=body, headers=headers, repeatable=True
        )
        return p.Job.from_json(response.json())

    async def submit_file(
        self,
        path: str | Path,
        model: str,
        *,
        content_type: str | None = None,
        progress: ProgressCallback | None = None,
        idempotency_key: str | None = None,
        **options: Any,
    ) -> p.Job:
        """Upload a CSV, Parquet or JSON Lines file as a streamed body (never read whole); an
        upload tried again is read again from the start."""
        path = Path(path)
        size = path.stat().st_size
        headers = {
            "Content-Type": p.file_content_type(path, content_type),
            "Content-Length": str(size),
            "Idempotency-Key": idempotency_key or uuid.uuid4().hex,
        }
        params = p.query_options(p.job_options(model, **options))

        def send() -> Awaitable[httpx.Response]:
            return self._http.request(
                "POST",
                "/v1/jobs",
                params=params,
                content=_read_chunks(path, size, progress),
                headers=headers,
                timeout=None,
            )

        return p.Job.from_json((await self._retrying(send, repeatable=True)).json())

    async def get(self, job_id: str) -> p.Job:
        """The job as it is now."""
        return p.Job.from_json((await self._request("GET", f"/v1/jobs/{job_id}")).json())

    async def wait(self, job_id: str, timeout: float | None = None, poll: float = 30.0) -> p.Job:
        """Long-poll until the job ends or `timeout` seconds pass; the job as it last was."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = poll if deadline is None else max(0.0, min(poll, deadline - time.monotonic()))
            response = await self._request(
                "GET", f"/v1/jobs/{job_id}", params={"wait": left}, timeout=left + self.timeout
            )
            job = p.Job.from_json(response.json())
            if job.terminal or (deadline is not None and time.monotonic() >= deadline):
                return job

    async def events(self, job_id: str) -> AsyncIterator[p.JobEvent]:
        """The job's status and progress events (history first) until it ends."""
        decoder = p.SSEDecoder()
        timeout = httpx.Timeout(self.timeout, read=None)
        try:
            async with self._http.stream(
                "GET", f"/v1/jobs/{job_id}/events", timeout=timeout
            ) as response:
                if not response.is_success:
                    await response.aread()
                    p.check(response)
                async for line in response.aiter_lines():
                    event = decoder.feed(line)
                    if event is not None:
                        yield event
        except httpx.TransportError as exc:
            raise unreachable(self.url, exc) from exc

    async def list_jobs(
        self,
        status: str | None = None,
        model: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> p.JobPage:
        """One page of the caller's jobs, newest first."""
        params = {"status": status, "model": model, "limit": limit, "cursor": cursor}
        params = {k: v for k, v in params.items() if v is not None}
        body = (await self._request("GET", "/v1/jobs", params=params)).json()
        return p.JobPage([p.Job.from_json(j) for j in body["data"]], body.get("next_cursor"))

    async def cancel(self, job_id: str) -> p.Job:
        """Stop a queued or running job; rows already scored stay downloadable."""
        response = await self._request("POST", f"/v1/jobs/{job_id}/cancel", repeatable=True)
        return p.Job.from_json(response.json())

    async def delete(self, job_id: str) -> None:
        """Remove the job and its files."""
        await self._request("DELETE", f"/v1/jobs/{job_id}")

    async def results(self, job_id: str, fmt: str = "parquet") -> pd.DataFrame:
        """The scored rows as a DataFrame (fetched as Parquet, so types survive)."""
        url = f"/v1/jobs/{job_id}/results"
        response = await self._request("GET", url, params={"format": fmt})
        return p.table_frame(response.content, fmt)

    async def download(self, job_id: str, path: str | Path, fmt: str = "csv") -> Path:
        """Stream the scored rows to a file (written under a temporary name, then renamed)."""
        path = Path(path)
        partial = path.with_name(path.name + ".part")
        url = f"/v1/jobs/{job_id}/results"
        try:
            async with self._http.stream("GET", url, params={"format": fmt}) as response:
                if not response.is_success:
                    await response.aread()
                    p.check(response)
                with partial.open("wb") as out:
                    async for chunk in response.aiter_bytes():
                        out.write(chunk)
        except httpx.TransportError as exc:
            raise unreachable(self.url, exc) from exc
        partial.replace(path)
        return path

    async def errors(self, job_id: str) -> list[dict[str, Any]]:
        """The job's per-row errors."""
        return (await self._request("GET", f"/v1/jobs/{job_id}/errors")).json()["data"]

    async def score(
        self, rows: p.Rows, model: str, timeout: float | None = None, **options: Any
    ) -> pd.DataFrame:
        """Submit rows, wait and return the scored rows; JobFailed if the job did not succeed."""
        job = await self.wait((await self.submit(rows, model, **options)).id, timeout=timeout)
        if job.status != "succeeded":
            raise JobFailed(job)
        return await self.results(job.id)

    async def models(self) -> list[dict[str, Any]]:
        """Every model the caller can score, with versions and aliases."""
        return (await self._request("GET", "/v1/models")).json()["data"]

    async def _request(
        self, method: str, path: str, *, repeatable: bool | None = None, **kwargs: Any
    ) -> httpx.Response:
        """As `Client._request`."""
        return await self._retrying(
            lambda: self._http.request(method, path, **kwargs),
            repeatable=method == "GET" if repeatable is None else repeatable,
        )

    async def _retrying(
        self, send: Callable[[], Awaitable[httpx.Response]], repeatable: bool
    ) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = await send()
            except httpx.TransportError as exc:
                delay = retry_delay(attempt, self.retries, error=exc, repeatable=repeatable)
                if delay is None:
                    raise unreachable(self.url, exc) from exc
            else:
                delay = retry_delay(attempt, self.retries, response=response)
                if delay is None:
                    return p.check(response)
            await asyncio.sleep(delay)
            attempt += 1


async def _read_chunks(
    path: Path, total: int, progress: ProgressCallback | None
) -> AsyncIterator[bytes]:
    sent = 0
    with path.open("rb") as handle:
        while chunk := await asyncio.to_thread(handle.read, p.UPLOAD_CHUNK_BYTES):
            sent += len(chunk)
            yield chunk
            if progress:
                progress(sent, total)
