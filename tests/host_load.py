"""A steady load for the chaos runs across hosts, and the check of what became of it.

Client threads submit, until stopped: small JSON jobs (1 to 20 iris rows, each with an
Idempotency-Key, retried until accepted) and CSV uploads streamed in pieces (sent again after a
failure, without a key: an upload cut off is a job of its own that must end
`intake_interrupted`). Every job carries an `id` passthrough column and a webhook. All of it runs
as a tenant of its own, so the tenant's job list is exactly what the load made.
"""

from __future__ import annotations

import io
import itertools
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pandas as pd

from inferq.api_keys import KeyStore
from tests.helpers import demo_rows, new_tenant, reference_model
from tests.stack import Stack

ENDED = {"succeeded", "failed", "cancelled"}
JSON_SIZES = (1, 1, 2, 5, 20)


@dataclass(frozen=True)
class Planned:
    """One job the load submits: its number, kind (`json` or `csv`) and rows."""

    index: int
    kind: str
    size: int

    def ids(self) -> list[str]:
        """The `id` passthrough values of its rows, in input order."""
        return [f"{self.index}-{i}" for i in range(self.size)]

    def features(self) -> pd.DataFrame:
        """Its rows without the id column."""
        return demo_rows("iris", self.size, seed=self.index)

    def frame(self) -> pd.DataFrame:
        """Its rows with the id column first."""
        rows = self.features()
        rows.insert(0, "id", self.ids())
        return rows


@dataclass
class Load:
    """Client threads of one tenant submitting jobs until `stop()`."""

    api_url: str
    key: str
    webhook_url: str
    json_clients: int = 2
    file_clients: int = 1
    csv_rows: int = 1500
    upload_pieces: int = 6
    piece_pause: float = 0.1
    seed: int = 0
    accepted: dict[str, Planned] = field(default_factory=dict)
    answers: Counter[str] = field(default_factory=Counter)
    timeline: list[tuple[float, str]] = field(default_factory=list)
    """Every answer (status code or exception name) with its time.monotonic()."""
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _numbers: Iterator[int] = field(default_factory=itertools.count)
    _threads: list[threading.Thread] = field(default_factory=list)

    @classmethod
    def for_new_tenant(cls, stack: Stack, webhook_url: str, **options: Any) -> Load:
        """A load as a new tenant with its own key and webhook secret."""
        _, key = KeyStore(stack.redis()).create(
            new_tenant(), ["admin", "jobs:write", "jobs:read"], name="chaos"
        )
        with httpx.Client(base_url=stack.api_url, timeout=30) as http:
            made = http.post("/v1/webhook-secrets", headers={"Authorization": f"Bearer {key}"})
            made.raise_for_status()
        return cls(stack.api_url, key, webhook_url, **options)

    def client(self, timeout: float = 60) -> httpx.Client:
        """An HTTP client of the API as the load's tenant."""
        headers = {"Authorization": f"Bearer {self.key}"}
        return httpx.Client(base_url=self.api_url, headers=headers, timeout=timeout)

    def start(self) -> Load:
        """Start the client threads."""
        kinds = ["json"] * self.json_clients + ["csv"] * self.file_clients
        for number, kind in enumerate(kinds):
            thread = threading.Thread(target=self._submit_forever, args=(kind, number), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop submitting: each thread ends its current request and gives up its retries."""
        self._stop.set()
        for thread in self._threads:
            thread.join(120)

    def wait_accepted(self, count: int, seconds: float = 60) -> None:
        """Block until `count` jobs in all were accepted; fails after `seconds`."""
        deadline = time.monotonic() + seconds
        while len(self.accepted) < count:
            assert time.monotonic() < deadline, f"only {len(self.accepted)} jobs accepted"
            time.sleep(0.05)

    def _submit_forever(self, kind: str, number: int) -> None:
        rng = random.Random(self.seed * 100 + number)
        with self.client() as http:
            while not self._stop.is_set():
                with self._lock:
                    index = next(self._numbers)
                size = rng.choice(JSON_SIZES) if kind == "json" else self.csv_rows
                self._submit_until_accepted(http, Planned(index, kind, size))

    def _submit_until_accepted(self, http: httpx.Client, job: Planned) -> None:
        body = job.frame()
        while not self._stop.is_set():
            try:
                answer = self._post(http, job, body)
            except httpx.HTTPError as exc:
                self._note(type(exc).__name__)
                time.sleep(0.2)
                continue
            self._note(str(answer.status_code))
            if answer.status_code in (200, 202):
                with self._lock:
                    self.accepted[answer.json()["id"]] = job
                return
            time.sleep(0.2)

    def _post(self, http: httpx.Client, job: Planned, rows: pd.DataFrame) -> httpx.Response:
        if job.kind == "csv":
            params = {"model": "iris", "passthrough": "id", "webhook_url": self.webhook_url}
            return http.post(
                "/v1/jobs",
                params=params,
                content=self._pieces(rows.to_csv(index=False).encode()),
                headers={"content-type": "text/csv"},
            )
        body = {
            "model": "iris",
            "passthrough": ["id"],
            "dataframe_split": {"columns": list(rows.columns), "data": rows.values.tolist()},
            "webhook": {"url": self.webhook_url},
        }
        return http.post("/v1/jobs", json=body, headers={"Idempotency-Key": f"load-{job.index}"})

    def _pieces(self, data: bytes) -> Iterator[bytes]:
        """The upload streamed in pieces a pause apart, so that uploads are in flight."""
        step = -(-len(data) // self.upload_pieces)
        for start in range(0, len(data), step):
            if start:
                time.sleep(self.piece_pause)
            yield data[start : start + step]

    def _note(self, answer: str) -> None:
        with self._lock:
            self.answers[answer] += 1
            self.timeline.append((time.monotonic(), answer))

    def answers_since(self, moment: float) -> list[tuple[float, str]]:
        """The answers met after `moment` (time.monotonic()), oldest first."""
        with self._lock:
            return sorted(item for item in self.timeline if item[0] >= moment)


def check(load: Load, received: Any, patience: float = 120) -> Counter[str]:
    """Wait for every accepted job to end and count what became of the load: jobs `succeeded`,
    `failed`, `lost` (not ended in time); rows `missing`, `duplicated`, `out_of_order`, `wrong`;
    jobs whose progress counts other rows than they have (`miscounted`); webhooks `hooks_missing`
    and `hooks_repeated`; and jobs the tenant has that were never acknowledged: `interrupted`
    (failed `intake_interrupted`), `unacknowledged` (a lost 202) or `unaccounted`."""
    tally: Counter[str] = Counter(accepted=len(load.accepted))
    model = reference_model("iris")
    deadline = time.monotonic() + patience
    with load.client(timeout=patience + 30) as http:
        for job_id, job in load.accepted.items():
            ended = _wait_end(http, job_id, deadline)
            tally[ended["status"] if ended["status"] in ENDED else "lost"] += 1
            if ended["status"] == "succeeded":
                tally.update(_check_rows(http, job_id, job, model))
                tally["miscounted"] += ended["progress"]["rows_done"] != job.size
        tally.update(_check_unacknowledged(http, load.accepted, deadline))
    tally.update(_check_webhooks(load, received, deadline))
    return tally


def _wait_end(http: httpx.Client, job_id: str, deadline: float) -> dict[str, Any]:
    while True:
        wait = max(0.0, min(30.0, deadline - time.monotonic()))
        answer = http.get(f"/v1/jobs/{job_id}", params={"wait": wait})
        if answer.status_code == 404:  # acknowledged, then lost with its record
            return {"status": "missing", "id": job_id}
        job: dict[str, Any] = answer.json()
        if job["status"] in ENDED or wait == 0:
            return job


def _check_rows(http: httpx.Client, job_id: str, job: Planned, model: Any) -> Counter[str]:
    answer = http.get(f"/v1/jobs/{job_id}/results", params={"format": "csv"})
    answer.raise_for_status()
    scored = pd.read_csv(io.BytesIO(answer.content), dtype={"id": str})
    got, expected = scored["id"].tolist(), job.ids()
    counts: Counter[str] = Counter()
    counts["missing"] = len(set(expected) - set(got))
    counts["duplicated"] = len(got) - len(set(got))
    counts["out_of_order"] = int(list(dict.fromkeys(got)) != expected and not counts["missing"])
    if got == expected:
        predicted = model.predict(job.features()).tolist()
        counts["wrong"] = sum(a != b for a, b in zip(scored["prediction"], predicted, strict=True))
    return counts


def _check_unacknowledged(
    http: httpx.Client, accepted: dict[str, Planned], deadline: float
) -> Counter[str]:
    counts: Counter[str] = Counter()
    for listed in _tenant_jobs(http):
        if listed["id"] in accepted:
            continue
        job = _wait_end(http, listed["id"], deadline)
        error = (job.get("error") or {}).get("code")
        if job["status"] == "failed" and error == "intake_interrupted":
            counts["interrupted"] += 1
        elif job["status"] == "succeeded":
            counts["unacknowledged"] += 1
        else:
            counts["unaccounted"] += 1
    return counts


def _tenant_jobs(http: httpx.Client) -> Iterator[dict[str, Any]]:
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = http.get("/v1/jobs", params=params).json()
        yield from page["data"]
        cursor = page.get("next_cursor")
        if not cursor:
            return


def _check_webhooks(load: Load, received: Any, deadline: float) -> Counter[str]:
    """Every accepted job's `job.succeeded` delivery arrived (waiting for stragglers until
    `deadline`); deliveries of the same job more than once are counted too."""
    wanted = set(load.accepted)
    while True:
        seen = Counter(
            body["data"]["id"]
            for body in (_json(item["body"]) for item in received())
            if body.get("type") == "job.succeeded" and body["data"]["id"] in wanted
        )
        if len(seen) == len(wanted) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    repeated = sum(count - 1 for count in seen.values())
    return Counter(hooks_missing=len(wanted - set(seen)), hooks_repeated=repeated)


def _json(text: str) -> dict[str, Any]:
    try:
        found = json.loads(text)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
