"""`inferq score` and `inferq jobs list|show|wait|cancel|results|errors`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from inferq.cli_errors import ExitCode, api_command
from inferq.cli_progress import TransferBar, new_progress, wait_with_progress
from inferq.client import Client, Job

RESULT_FORMATS = ("csv", "jsonl", "parquet", "json")
STATUSES = ("queued", "running", "succeeded", "failed", "cancelling", "cancelled", "expired")


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """--url and --api-key, defaulting to INFERQ_URL and INFERQ_API_KEY."""
    group = parser.add_argument_group("connection")
    group.add_argument("--url", help="API base URL (default: $INFERQ_URL or http://127.0.0.1:8000)")
    group.add_argument("--api-key", help="API key (default: $INFERQ_API_KEY)")


def client_for(args: argparse.Namespace) -> Client:
    """A client for the connection options."""
    return Client(url=args.url, api_key=args.api_key)


@api_command
def cmd_score(args: argparse.Namespace) -> int:
    """Upload a file, show upload and scoring progress, and save the scored rows."""
    source = Path(args.file)
    if not source.is_file():
        print(f"error: no such file: {source}", file=sys.stderr)
        return ExitCode.USAGE
    fmt, output = _output_of(args, source)
    options = _job_options(args)
    with client_for(args) as client, new_progress(args.quiet) as progress:
        upload = TransferBar(progress, "upload")
        try:
            job = client.submit_file(
                source,
                args.model,
                progress=upload.update,
                idempotency_key=args.idempotency_key,
                **options,
            )
        except ValueError as exc:  # a file type the client cannot name
            print(f"error: {exc}", file=sys.stderr)
            return ExitCode.USAGE
        progress.console.print(f"job {job.id} ({job.model}@{job.model_version}) {job.status}")
        if args.no_wait:
            print(job.id)
            return ExitCode.OK
        job = wait_with_progress(client, job, progress, args.timeout)
        code = _ended(job)
        if code != ExitCode.OK:
            return code
        client.download(job.id, output, fmt, progress=TransferBar(progress, "download").update)
    _summary(job, output)
    return ExitCode.OK


@api_command
def cmd_list(args: argparse.Namespace) -> int:
    """List your jobs, newest first."""
    with client_for(args) as client:
        page = client.list_jobs(args.status, args.model, args.limit, args.cursor)
    if args.json:
        print(json.dumps({"data": [j.raw for j in page.jobs], "next_cursor": page.next_cursor}))
        return ExitCode.OK
    print(f"{'ID':<30}  {'STATUS':<10}  {'MODEL':<20}  {'ROWS':>12}  {'FAILED':>6}  CREATED")
    for job in page.jobs:
        model = f"{job.model}@{job.model_version}"
        print(
            f"{job.id:<30}  {job.status:<10}  {model:<20}  {job.rows_done:>12}  "
            f"{job.rows_failed:>6}  {job.created_at}"
        )
    if page.next_cursor:
        print(f"more: --cursor {page.next_cursor}", file=sys.stderr)
    return ExitCode.OK


@api_command
def cmd_show(args: argparse.Namespace) -> int:
    """Print a job object as JSON."""
    with client_for(args) as client:
        print(json.dumps(client.get(args.job_id).raw, indent=2))
    return ExitCode.OK


@api_command
def cmd_wait(args: argparse.Namespace) -> int:
    """Follow a job with a progress bar until it ends; the exit code tells how it ended."""
    with client_for(args) as client, new_progress(args.quiet) as progress:
        job = wait_with_progress(client, client.get(args.job_id), progress, args.timeout)
    return _ended(job)


@api_command
def cmd_cancel(args: argparse.Namespace) -> int:
    """Cancel a queued or running job (rows already scored stay downloadable)."""
    with client_for(args) as client:
        job = client.cancel(args.job_id)
    print(f"job {job.id} {job.status}", file=sys.stderr)
    return ExitCode.OK


@api_command
def cmd_results(args: argparse.Namespace) -> int:
    """Download an ended job's scored rows to a file."""
    fmt = args.format or _format_of(Path(args.output))
    with client_for(args) as client, new_progress(args.quiet) as progress:
        client.download(args.job_id, args.output, fmt, TransferBar(progress, "download").update)
    return ExitCode.OK


@api_command
def cmd_errors(args: argparse.Namespace) -> int:
    """Print a job's per-row errors, one JSON object per line."""
    with client_for(args) as client:
        for error in client.errors(args.job_id):
            print(json.dumps(error))
    return ExitCode.OK


def _ended(job: Job) -> int:
    """Exit code for a job after waiting: OK, JOB_FAILED, or TIMEOUT if it has not ended."""
    if not job.terminal:
        print(f"job {job.id} is still {job.status}; it goes on", file=sys.stderr)
        return ExitCode.TIMEOUT
    if job.status != "succeeded":
        reason = (job.error or {}).get("message", "")
        print(f"job {job.id} {job.status}" + (f": {reason}" if reason else ""), file=sys.stderr)
        return ExitCode.JOB_FAILED
    return ExitCode.OK


def _summary(job: Job, output: Path) -> None:
    print(f"scored {job.rows_done} rows into {output}", file=sys.stderr)
    if job.rows_failed:
        print(
            f"{job.rows_failed} rows failed: inferq jobs errors {job.id}",
            file=sys.stderr,
        )


def _output_of(args: argparse.Namespace, source: Path) -> tuple[str, Path]:
    if args.output:
        output = Path(args.output)
        return args.format or _format_of(output), output
    fmt = args.format or "csv"
    return fmt, source.with_name(f"{source.stem}.scored.{fmt}")


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    return {"pq": "parquet", "ndjson": "jsonl"}.get(
        suffix, suffix if suffix in RESULT_FORMATS else "csv"
    )


def _job_options(args: argparse.Namespace) -> dict:
    options: dict = {"priority": args.priority}
    if args.outputs:
        options["outputs"] = args.outputs.split(",")
    if args.passthrough:
        options["passthrough"] = args.passthrough.split(",")
    options["contributions_method"] = args.contributions_method
    return {k: v for k, v in options.items() if v is not None}


def add_job_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `score` and the `jobs` group."""
    score = _command(commands, "score", cmd_score)
    score.add_argument("file", help="input file: .csv, .parquet or .jsonl")
    score.add_argument(
        "-m", "--model", required=True, help="model: NAME, NAME@VERSION or NAME@ALIAS"
    )
    score.add_argument(
        "-o", "--output", help="where to save the scored rows (default: FILE.scored.csv)"
    )
    score.add_argument("--format", choices=RESULT_FORMATS, help="output format (default: from -o)")
    score.add_argument("--outputs", help="comma-separated: prediction,probabilities,contributions")
    score.add_argument(
        "--contributions-method",
        choices=("exact", "approximate"),
        help="how tree models' contributions are computed (default: exact)",
    )
    score.add_argument("--passthrough", help="comma-separated input columns to copy (e.g. id)")
    score.add_argument("--priority", choices=("high", "normal", "low"))
    score.add_argument("--no-wait", action="store_true", help="print the job id and exit")
    score.add_argument(
        "--idempotency-key",
        help="a key of your own (e.g. the pipeline run's id): running the command again with it "
        "answers the job the first run made instead of scoring the file twice",
    )
    _waiting_options(score)

    jobs = commands.add_parser(
        "jobs",
        help="list, show, follow and cancel jobs",
        description="List, show, follow and cancel jobs.",
    )
    sub = jobs.add_subparsers(dest="jobs_command", required=True, metavar="COMMAND")
    listing = _command(sub, "list", cmd_list)
    listing.add_argument("--status", choices=STATUSES)
    listing.add_argument("--model", help="only jobs of this model name")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--cursor", help="next_cursor of the previous page")
    listing.add_argument("--json", action="store_true", help="print the API's JSON")
    for name, func in (("show", cmd_show), ("cancel", cmd_cancel), ("errors", cmd_errors)):
        _command(sub, name, func).add_argument("job_id")
    wait = _command(sub, "wait", cmd_wait)
    wait.add_argument("job_id")
    _waiting_options(wait)
    results = _command(sub, "results", cmd_results)
    results.add_argument("job_id")
    results.add_argument("-o", "--output", required=True, help="file to write")
    results.add_argument("--format", choices=RESULT_FORMATS, help="default: from the file name")
    results.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _waiting_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=float, help="stop waiting after SECONDS (exit code 5)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, func: object
) -> argparse.ArgumentParser:
    summary = (getattr(func, "__doc__", "") or "").strip().splitlines()[0]
    parser = commands.add_parser(name, help=summary, description=summary)
    parser.set_defaults(func=func)
    add_connection_options(parser)
    return parser
