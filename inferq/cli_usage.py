"""`inferq usage`: a tenant's usage per day or per model, as a table or JSON."""

from __future__ import annotations

import argparse
import json
from typing import Any

import httpx

from inferq.cli_errors import ExitCode, api_command
from inferq.client.protocol import DEFAULT_URL, auth_headers, check, env_api_key, env_url

COLUMNS = (
    ("jobs", "JOBS"),
    ("sync_requests", "SYNC"),
    ("rows_scored", "ROWS"),
    ("rows_failed", "FAILED"),
    ("cpu_seconds", "CPU_S"),
    ("bytes_in", "BYTES_IN"),
    ("bytes_out", "BYTES_OUT"),
)


def add_usage_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `usage`."""
    summary = (cmd_usage.__doc__ or "").strip().splitlines()[0]
    usage = commands.add_parser("usage", help=summary, description=summary)
    usage.add_argument("--from", dest="first", help="first UTC day, YYYY-MM-DD (default: 29 "
                       "days before --to)")  # fmt: skip
    usage.add_argument("--to", dest="last", help="last UTC day, YYYY-MM-DD (default: today)")
    usage.add_argument("--group-by", choices=("day", "model"), default="day", help="a line per "
                       "day (default) or per model")  # fmt: skip
    usage.add_argument("--tenant", help="another tenant's usage (needs an admin key)")
    usage.add_argument("--json", action="store_true", help="print the API's JSON answer")
    usage.add_argument("--url", help=f"the API (default: $INFERQ_URL or {DEFAULT_URL})")
    usage.add_argument("--api-key", help="an API key (default: $INFERQ_API_KEY)")
    usage.set_defaults(func=api_command(cmd_usage))


def cmd_usage(args: argparse.Namespace) -> int:
    """Show a tenant's jobs, sync requests, rows, CPU-seconds and bytes, per day or model."""
    params = {"group_by": args.group_by}
    for name, value in (("from", args.first), ("to", args.last), ("tenant", args.tenant)):
        if value:
            params[name] = value
    response = httpx.get(
        env_url(args.url) + "/v1/usage",
        params=params,
        headers=auth_headers(env_api_key(args.api_key)),
        timeout=30,
    )
    check(response)
    report = response.json()
    if args.json:
        print(json.dumps(report, indent=2))
        return ExitCode.OK
    print(f"tenant {report['tenant']}, {report['from']} to {report['to']} (UTC)")
    group = args.group_by
    head = (group.upper(), *(title for _, title in COLUMNS))
    rows = [_row(line[group], line) for line in report["data"]]
    _table([head, *rows, _row("TOTAL", report["total"])])
    return ExitCode.OK


def _row(name: str, line: dict[str, Any]) -> tuple[str, ...]:
    return (name, *(_cell(line[measure]) for measure, _ in COLUMNS))


def _cell(value: int | float) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        print("  ".join(cells))
