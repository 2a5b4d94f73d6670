"""Chaos run: jobs of mixed sizes while worker processes are killed and Redis restarts.

Run: `.venv/bin/python -m bench.chaos` (options: --jobs, --csv-jobs, --clients, --kills,
--redis-restarts, --seed, --budget, --patience). It starts its own Redis, two workers and the
API, and submits JSON jobs of 1 to 20,000 iris rows (each with an Idempotency-Key, retried until
accepted) and CSV uploads of 20,000 to 60,000 rows (many chunks; an upload is sent again after
a 503) from several client threads. The disruptions are spread over the submission: one after
each equal share of the jobs has been accepted, a SIGKILL of a worker pool process (Celery starts
a new one) or a Redis restart, in random order. Then it waits for every accepted job to end and
compares each result with direct scikit-learn predictions. It prints jobs accepted / succeeded
/ failed / lost, rows missing, duplicated or wrong, and what the clients met while submitting.
Target: every job accepted, 0 lost, 0 wrong rows.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import signal
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty, SimpleQueue

import httpx
import numpy as np
import pandas as pd

from tests.helpers import demo_rows, reference_model
from tests.stack import Stack

JSON_SIZES = [1, 1, 1, 5, 50, 500, 5_000, 20_000]
CSV_SIZES = [20_000, 40_000, 60_000]


@dataclass
class Submissions:
    """What the client threads got: accepted job ids (to job index) and every answer met."""

    accepted: dict[str, int] = field(default_factory=dict)
    answers: Counter[str] = field(default_factory=Counter)
    slowest: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, answer: str) -> None:
        """Count one answer (a status code or an exception name)."""
        with self.lock:
            self.answers[answer] += 1

    def accept(self, job_id: str, index: int, seconds: float) -> None:
        """Record an accepted job and how long it took to get it accepted."""
        with self.lock:
            self.accepted[job_id] = index
            self.slowest = max(self.slowest, seconds)


def job_rows(index: int, size: int) -> pd.DataFrame:
    """The rows of job `index`, with an `id` column for the CSV uploads."""
    rows = demo_rows("iris", size, seed=index)
    rows.insert(0, "id", [f"{index}-{i}" for i in range(size)])
    return rows


def post_job(client: httpx.Client, index: int, kind: str, rows: pd.DataFrame) -> httpx.Response:
    """One attempt at submitting job `index`."""
    if kind == "csv":
        return client.post(
            "/v1/jobs",
            params={"model": "iris", "passthrough": "id"},
            content=rows.to_csv(index=False).encode(),
            headers={"content-type": "text/csv"},
        )
    features = rows.drop(columns="id")
    split = {"columns": list(features.columns), "data": features.to_numpy().tolist()}
    body = {"model": "iris", "dataframe_split": split}
    return client.post("/v1/jobs", json=body, headers={"Idempotency-Key": f"chaos-{index}"})


def submit_until_accepted(
    client: httpx.Client, index: int, job: tuple[str, int], out: Submissions, stop: threading.Event
) -> None:
    """Submit one job until it is accepted, retrying 503s and broken connections."""
    kind, size = job
    rows = job_rows(index, size)
    start = time.monotonic()
    while not stop.is_set():
        try:
            response = post_job(client, index, kind, rows)
        except httpx.HTTPError as exc:
            out.note(type(exc).__name__)
            time.sleep(0.2)
            continue
        out.note(str(response.status_code))
        if response.status_code in (200, 202):
            out.accept(response.json()["id"], index, time.monotonic() - start)
            return
        time.sleep(0.2)


def client_thread(
    stack: Stack,
    jobs: list[tuple[str, int]],
    todo: SimpleQueue[int],
    out: Submissions,
    stop: threading.Event,
) -> None:
    """Take job indexes from `todo` until none is left."""
    with stack.client(timeout=60) as client:
        while not stop.is_set():
            try:
                index = todo.get_nowait()
            except Empty:
                return
            submit_until_accepted(client, index, jobs[index], out, stop)


def disrupt(stack: Stack, events: list[str], out: Submissions, total: int, budget: float) -> int:
    """Run each event once another equal share of the jobs has been accepted; pool kills done."""
    killed = 0
    deadline = time.monotonic() + budget
    for number, event in enumerate(events, start=1):
        wanted = total * number // (len(events) + 1)
        while len(out.accepted) < wanted and time.monotonic() < deadline:
            time.sleep(0.05)
        if event == "restart":
            stack.redis_server.restart()
        else:
            killed += kill_one_pool_process(stack, random.Random(number))
    return killed


def kill_one_pool_process(stack: Stack, rng: random.Random) -> int:
    """SIGKILL one pool process (a child of a worker main process this stack started)."""
    children = [pid for worker in stack.workers for pid in _children(worker.pid)]
    if not children:
        return 0
    os.kill(rng.choice(children), signal.SIGKILL)
    return 1


def _children(pid: int | None) -> list[int]:
    if pid is None:
        return []
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def wait_end(client: httpx.Client, job_id: str, deadline: float) -> str:
    """The job's status once it ended, or its status when `deadline` (monotonic) passed."""
    while True:
        wait = max(0.0, min(60.0, deadline - time.monotonic()))
        status = client.get(f"/v1/jobs/{job_id}", params={"wait": wait}).json().get("status")
        if status in {"succeeded", "failed", "cancelled"} or wait == 0:
            return str(status)


def check(
    client: httpx.Client, accepted: dict[str, int], jobs: list[tuple[str, int]], patience: float
) -> Counter[str]:
    """Wait (`patience` seconds in all) for the accepted jobs to end and compare their rows with
    direct predictions; a job not ended by then counts as lost."""
    model = reference_model("iris")
    tally: Counter[str] = Counter()
    deadline = time.monotonic() + patience
    for job_id, index in accepted.items():
        status = wait_end(client, job_id, deadline)
        tally[status if status in {"succeeded", "failed"} else "lost"] += 1
        if status not in {"succeeded", "failed"}:
            print(f"not ended: job {index} {jobs[index]}: {client.get(f'/v1/jobs/{job_id}').text}")
        if status != "succeeded":
            continue
        kind, size = jobs[index]
        expected = model.predict(job_rows(index, size).drop(columns="id"))
        got = scored_predictions(client, job_id, kind, index)
        tally["missing"] += max(0, len(expected) - len(got))
        tally["duplicated"] += max(0, len(got) - len(expected))
        n = min(len(got), len(expected))
        tally["wrong"] += int(np.sum(np.asarray(got[:n]) != expected[:n]))
    return tally


def scored_predictions(client: httpx.Client, job_id: str, kind: str, index: int) -> list[int]:
    """The job's predictions in result order; CSV results also checked by their ids."""
    if kind == "json":
        return [row[0] for row in client.get(f"/v1/jobs/{job_id}/results").json()["data"]]
    response = client.get(f"/v1/jobs/{job_id}/results", params={"format": "csv"})
    scored = pd.read_csv(io.BytesIO(response.content), dtype={"id": str})
    expected_ids = [f"{index}-{i}" for i in range(len(scored))]
    # A row out of place counts as wrong: its prediction is set apart from the comparison.
    placed = scored["id"].to_numpy() == np.asarray(expected_ids)
    return np.where(placed, scored["prediction"].to_numpy(), -1).tolist()


def plan_jobs(args: argparse.Namespace, rng: random.Random) -> list[tuple[str, int]]:
    """JSON jobs of random sizes with the CSV uploads spread among them."""
    jobs = [("json", rng.choice(JSON_SIZES)) for _ in range(args.jobs)]
    for _ in range(args.csv_jobs):
        jobs.insert(rng.randrange(len(jobs) + 1), ("csv", rng.choice(CSV_SIZES)))
    return jobs


def main() -> None:
    """Run the chaos scenario and print the tally."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200, help="JSON jobs")
    parser.add_argument("--csv-jobs", type=int, default=6, help="CSV uploads")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--redis-restarts", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--budget", type=float, default=600, help="seconds to get jobs accepted")
    parser.add_argument("--patience", type=float, default=600, help="seconds for jobs to end")
    parser.add_argument("--keep", action="store_true", help="keep the stack's folder and logs")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    jobs = plan_jobs(args, rng)
    events = ["kill"] * args.kills + ["restart"] * args.redis_restarts
    rng.shuffle(events)
    started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="inferq-chaos-"))
    stack = Stack(
        folder,
        lease_seconds="3",
        sweep_seconds="0.5",
        max_attempts="10",
        file_chunk_bytes=str(64 * 1024),
    )
    try:
        stack.start_redis()
        stack.register_demo_models()
        stack.start_worker(concurrency=2)
        stack.start_worker(concurrency=1)
        stack.start_api()
        out, killed, submitted_in = run_clients(stack, jobs, events, args, started)
        with stack.client(timeout=180) as client:
            tally = check(client, out.accepted, jobs, args.patience)
    finally:
        stack.stop()
        if args.keep:
            print(f"the stack's folder and logs are kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    report(args, jobs, out, killed, submitted_in, tally, time.monotonic() - started)


def run_clients(
    stack: Stack,
    jobs: list[tuple[str, int]],
    events: list[str],
    args: argparse.Namespace,
    started: float,
) -> tuple[Submissions, int, float]:
    """Submit every job from the client threads while the events happen; (what the clients got,
    pool processes killed, seconds until the clients were done)."""
    out, stop, todo = Submissions(), threading.Event(), SimpleQueue[int]()
    for index in range(len(jobs)):
        todo.put(index)
    threads = [
        threading.Thread(target=client_thread, args=(stack, jobs, todo, out, stop))
        for _ in range(args.clients)
    ]
    for thread in threads:
        thread.start()
    killed = disrupt(stack, events, out, len(jobs), args.budget)
    for thread in threads:
        thread.join(timeout=max(0.0, started + args.budget - time.monotonic()))
    stop.set()
    return out, killed, time.monotonic() - started


def report(
    args: argparse.Namespace,
    jobs: list[tuple[str, int]],
    out: Submissions,
    killed: int,
    submitted_in: float,
    tally: Counter[str],
    total_seconds: float,
) -> None:
    """Print what happened."""
    answers = ", ".join(f"{name} ×{count}" for name, count in sorted(out.answers.items()))
    csv_rows = sum(size for kind, size in jobs if kind == "csv")
    print(f"pool processes killed: {killed}, Redis restarts: {args.redis_restarts}")
    print(
        f"jobs submitted: {len(jobs)} ({args.jobs} JSON, {args.csv_jobs} CSV of {csv_rows:,} "
        f"rows in all), accepted: {len(out.accepted)} in {submitted_in:.1f} s by "
        f"{args.clients} clients; slowest job to get accepted: {out.slowest:.1f} s"
    )
    print(f"answers while submitting: {answers}")
    print(
        f"succeeded: {tally['succeeded']}, failed: {tally['failed']}, lost: {tally['lost']}; "
        f"rows missing: {tally['missing']}, duplicated: {tally['duplicated']}, "
        f"wrong: {tally['wrong']}; whole run {total_seconds:.0f} s"
    )


if __name__ == "__main__":
    main()
