"""`Client`: the blocking inferq client."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from inferq.client import protocol as p
from inferq.client.errors import JobFailed, unreachable
from inferq.client.retries import DEFAULT_RETRIES, retry_delay

ProgressCallback = Callable[[int, int | None], None]
"""Called with (bytes so far, total bytes or None) while a file goes up or comes down."""


class Client:
    """Submit, follow and fetch inferq jobs. URL and key default to INFERQ_URL/INFERQ_API_KEY.

    A request that meets passing trouble (429, 503, a lost connection) is tried again up to
    `retries` times (see `inferq.client.retries`); every submission carries an Idempotency-Key
    (a new one unless given), so trying it again never makes a second job.
    """

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
        self._http = httpx.Client(
            base_url=self.url, headers=p.auth_headers(p.env_api_key(api_key)), timeout=timeout
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # -- submitting ---------------------------------------------------------------------------

    def submit(
        self, rows: p.Rows, model: str, *, idempotency_key: str | None = None, **options: Any
    ) -> p.Job:
        """Submit JSON rows (a DataFrame, records, instances or columns/data) for scoring."""
        body = {**p.job_options(model, **options), **p.rows_payload(rows)}
        headers = {"Idempotency-Key": idempotency_key or uuid.uuid4().hex}
        response = self._request("POST", "/v1/jobs", json=body, headers=headers, repeatable=True)
        return p.Job.from_json(response.json())

    def submit_file(
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

        def send() -> httpx.Response:
            content = _read_chunks(path, size, progress)
            return self._http.request(
                "POST", "/v1/jobs", params=params, content=content, headers=headers, timeout=None
            )

        return p.Job.from_json(self._retrying(send, repeatable=True).json())

    # -- following ----------------------------------------------------------------------------

    def get(self, job_id: str) -> p.Job:
        """The job as it is now."""
        return p.Job.from_json(self._request("GET", f"/v1/jobs/{job_id}").json())

    def wait(self, job_id: str, timeout: float | None = None, poll: float = 30.0) -> p.Job:
        """Long-poll until the job ends or `timeout` seconds pass; the job as it last was."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = poll if deadline is None else max(0.0, min(poll, deadline - time.monotonic()))
            response = self._request(
                "GET", f"/v1/jobs/{job_id}", params={"wait": left}, timeout=left + self.timeout
            )
            job = p.Job.from_json(response.json())
            if job.terminal or (deadline is not None and time.monotonic() >= deadline):
                return job

    def events(self, job_id: str) -> Iterator[p.JobEvent]:
        """The job's status and progress events (history first) until it ends."""
        decoder = p.SSEDecoder()
        try:
            with self._http.stream(
                "GET", f"/v1/jobs/{job_id}/events", timeout=httpx.Timeout(self.timeout, read=None)
            ) as response:
                if not response.is_success:
                    response.read()
                    p.check(response)
                for line in response.iter_lines():
                    event = decoder.feed(line)
                    if event is not None:
                        yield event
        except httpx.TransportError as exc:
            raise unreachable(self.url, exc) from exc

    def list_jobs(
        self,
        status: str | None = None,
        model: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> p.JobPage:
        """One page of the caller's jobs, newest first."""
        params = {"status": status, "model": model, "limit": limit, "cursor": cursor}
        params = {k: v for k, v in params.items() if v is not None}
        body = self._request("GET", "/v1/jobs", params=params).json()
        return p.JobPage([p.Job.from_json(j) for j in body["data"]], body.get("next_cursor"))

    def iter_jobs(self, status: str | None = None, model: str | None = None) -> Iterator[p.Job]:
        """Every one of the caller's jobs, newest first, page after page."""
        cursor = None
        while True:
            page = self.list_jobs(status, model, limit=100, cursor=cursor)
            yield from page.jobs
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def cancel(self, job_id: str) -> p.Job:
        """Stop a queued or running job; rows already scored stay downloadable."""
        response = self._request("POST", f"/v1/jobs/{job_id}/cancel", repeatable=True)
        return p.Job.from_json(response.json())

    def delete(self, job_id: str) -> None:
        """Remove the job and its files."""
        self._request("DELETE", f"/v1/jobs/{job_id}")

    # -- results ------------------------------------------------------------------------------

    def results(self, job_id: str, fmt: str = "parquet") -> pd.DataFrame:
        """The scored rows as a DataFrame (fetched as Parquet, so types survive)."""
        response = self._request("GET", f"/v1/jobs/{job_id}/results", params={"format": fmt})
        return p.table_frame(response.content, fmt)

    def download(
        self,
        job_id: str,
        path: str | Path,
        fmt: str = "csv",
        progress: ProgressCallback | None = None,
    ) -> Path:
        """Stream the scored rows to a file (written under a temporary name, then renamed)."""
        path = Path(path)
        partial = path.with_name(path.name + ".part")
        url = f"/v1/jobs/{job_id}/results"
        try:
            with self._http.stream("GET", url, params={"format": fmt}) as response:
                if not response.is_success:
                    response.read()
                    p.check(response)
                length = response.headers.get("content-length")
                total = int(length) if length else None
                _write_stream(response.iter_bytes(), partial, total, progress)
        except httpx.TransportError as exc:
            raise unreachable(self.url, exc) from exc
        partial.replace(path)
        return path

    def errors(self, job_id: str) -> list[dict[str, Any]]:
        """The job's per-row errors."""
        return self._request("GET", f"/v1/jobs/{job_id}/errors").json()["data"]

    def score(
        self, rows: p.Rows, model: str, timeout: float | None = None, **options: Any
    ) -> pd.DataFrame:
        """Submit rows, wait and return the scored rows; JobFailed if the job did not succeed."""
        job = self.wait(self.submit(rows, model, **options).id, timeout=timeout)
        if job.status != "succeeded":
            raise JobFailed(job)
        return self.results(job.id)

    def models(self) -> list[dict[str, Any]]:
        """Every model the caller can score, with versions and aliases."""
        return self._request("GET", "/v1/models").json()["data"]

    # -- plumbing -----------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, *, repeatable: bool | None = None, **kwargs: Any
    ) -> httpx.Response:
        """The answer to one request, tried again on passing trouble; `repeatable` (default:
        reads) says whether it may be sent again after a connection was lost mid-way."""
        return self._retrying(
            lambda: self._http.request(method, path, **kwargs),
            repeatable=method == "GET" if repeatable is None else repeatable,
        )

    def _retrying(self, send: Callable[[], httpx.Response], repeatable: bool) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = send()
            except httpx.TransportError as exc:
                delay = retry_delay(attempt, self.retries, error=exc, repeatable=repeatable)
                if delay is None:
                    raise unreachable(self.url, exc) from exc
            else:
                delay = retry_delay(attempt, self.retries, response=response)
                if delay is None:
                    return p.check(response)
            time.sleep(delay)
            attempt += 1


def _read_chunks(path: Path, total: int, progress: ProgressCallback | None) -> Iterator[bytes]:
    sent = 0
    with path.open("rb") as handle:
        while chunk := handle.read(p.UPLOAD_CHUNK_BYTES):
            sent += len(chunk)
            yield chunk
            if progress:
                progress(sent, total)


def _write_stream(
    chunks: Iterator[bytes], path: Path, total: int | None, progress: ProgressCallback | None
) -> None:
    done = 0
    with path.open("wb") as out:
        for chunk in chunks:
            out.write(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
