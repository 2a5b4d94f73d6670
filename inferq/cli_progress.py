"""Progress bars of the `inferq` command: bytes up, rows scored, bytes down (on stderr)."""

from __future__ import annotations

import contextlib
import threading

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from inferq.client import Client, InferqError, Job


def new_progress(quiet: bool) -> Progress:
    """A progress display on stderr (hidden with --quiet)."""
    return Progress(
        TextColumn("{task.description:<9}"),
        BarColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=quiet,
        transient=False,
    )


class TransferBar:
    """A bar counting bytes: pass `update` as the client's progress callback."""

    def __init__(self, progress: Progress, description: str) -> None:
        self.progress = progress
        self.task = progress.add_task(description, total=None, detail="")
        self._columns = (DownloadColumn(), TransferSpeedColumn())

    def update(self, done: int, total: int | None) -> None:
        """Show `done` of `total` bytes."""
        self.progress.update(self.task, completed=done, total=total)
        task = self.progress.tasks[self.task]
        detail = " ".join(str(column.render(task)) for column in self._columns)
        self.progress.update(self.task, detail=detail)


class RowsBar:
    """A bar counting rows scored, fed by the job's Server-Sent Events."""

    def __init__(self, progress: Progress, job: Job) -> None:
        self.progress = progress
        self.task: TaskID = progress.add_task("scoring", total=job.rows_total, detail="")
        self._count = MofNCompleteColumn()
        self.show(job.rows_done, job.rows_failed, job.status)

    def show(self, done: int, failed: int, status: str) -> None:
        """Show the counts and status."""
        self.progress.update(self.task, completed=done)
        rows = str(self._count.render(self.progress.tasks[self.task]))
        detail = f"{rows} rows, {failed} failed, {status}"
        self.progress.update(self.task, detail=detail)


def wait_with_progress(client: Client, job: Job, progress: Progress, timeout: float | None) -> Job:
    """Long-poll until the job ends (or `timeout`), drawing its progress from SSE meanwhile."""
    bar = RowsBar(progress, job)
    follower = threading.Thread(target=_follow, args=(client, job, bar), daemon=True)
    follower.start()
    final = client.wait(job.id, timeout=timeout)
    follower.join(timeout=2.0)  # lets the last progress event land on the bar
    bar.progress.update(bar.task, total=final.rows_total or final.rows_done)
    bar.show(final.rows_done, final.rows_failed, final.status)
    return final


def _follow(client: Client, job: Job, bar: RowsBar) -> None:
    done, failed, status = job.rows_done, job.rows_failed, job.status
    # The bar is decoration: a lost event stream must not stop the wait that decides the result.
    with contextlib.suppress(InferqError):
        for event in client.events(job.id):
            done = int(event.data.get("rows_done", done))
            failed = int(event.data.get("rows_failed", failed))
            status = event.data.get("status", status)
            if "status" in event.data:
                # rows_total may have become known with the change of status.
                bar.progress.update(bar.task, total=client.get(job.id).rows_total)
            bar.show(done, failed, status)
