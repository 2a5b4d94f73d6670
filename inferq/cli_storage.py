"""`inferq storage reencrypt`: work on the configured storage directly (like `inferq up`)."""

from __future__ import annotations

import argparse
import sys
import time

from inferq.cli_errors import ExitCode
from inferq.config import get_settings
from inferq.reencrypt import Progress, reencrypt
from inferq.storage import Storage

REPORT_SECONDS = 1.0


def add_storage_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `storage` with its `reencrypt` action."""
    storage = commands.add_parser("storage", help="Work on the stored objects directly.")
    actions = storage.add_subparsers(dest="storage_command", required=True, metavar="ACTION")
    summary = "Move every stored object to the current encryption key (resumable)."
    action = actions.add_parser("reencrypt", help=summary, description=summary)
    action.set_defaults(func=cmd_reencrypt)


def cmd_reencrypt(args: argparse.Namespace) -> int:
    """Rewrap or seal every object, reporting progress on stderr; exit 1 if any failed."""
    settings = get_settings()
    if settings.keyring is None:
        print("inferq: INFERQ_ENCRYPTION_KEYS is not set; nothing to move to", file=sys.stderr)
        return ExitCode.USAGE
    storage = Storage.from_settings(settings)
    last = 0.0

    def report(progress: Progress) -> None:
        nonlocal last
        if time.monotonic() - last >= REPORT_SECONDS or progress.done == progress.total:
            last = time.monotonic()
            print(f"reencrypt: {progress.line()}", file=sys.stderr, flush=True)

    progress = reencrypt(storage, report)
    if progress.total == 0:
        print("reencrypt: no objects in storage", file=sys.stderr)
    for failure in progress.failed:
        print(f"inferq: cannot move {failure}", file=sys.stderr)
    if progress.failed:
        return ExitCode.JOB_FAILED
    print(f"every object is under key {settings.keyring.current!r}", file=sys.stderr)
    return ExitCode.OK
