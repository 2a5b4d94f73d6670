"""Exit codes of the `inferq` command, and turning client errors into them."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from enum import IntEnum
from typing import Any

import httpx

from inferq.client.errors import InferqError, Unauthorized, Unavailable


class ExitCode(IntEnum):
    """What `inferq` exits with; scripts may rely on these (see docs/cli.md)."""

    OK = 0
    """The command did what was asked (a scored job: it succeeded and its file was saved)."""
    JOB_FAILED = 1
    """The job ended failed, cancelled or expired."""
    USAGE = 2
    """Bad command line or unreadable input file (argparse uses 2 as well)."""
    API_ERROR = 3
    """The API answered with an error (no or bad API key, missing scope, unknown job...)."""
    UNAVAILABLE = 4
    """The API could not be reached or answered 503; trying again later may work."""
    TIMEOUT = 5
    """`--timeout` passed before the job ended; the job goes on."""
    INTERRUPTED = 130
    """Ctrl-C; a submitted job goes on unless cancelled."""


API_KEY_HINT = "set INFERQ_API_KEY or pass --api-key (`make run` prints the admin key)"
"""What a refused key (401) is told to do."""


def exit_code_for(error: InferqError) -> ExitCode:
    """The exit code for an error answer."""
    return ExitCode.UNAVAILABLE if isinstance(error, Unavailable) else ExitCode.API_ERROR


def report_error(error: InferqError) -> None:
    """Print an API error and its field errors to stderr."""
    status = f"{error.status} " if error.status else ""
    message = f"{error.title}: {error.detail}" if error.detail else error.title
    print(f"error: {status}{message}", file=sys.stderr)
    for item in error.errors:
        where = ".".join(str(part) for part in item.get("loc", []))
        print(f"  {where}: {item.get('msg', '')}", file=sys.stderr)
    if error.retry_after:
        print(f"  retry after {error.retry_after:g} s", file=sys.stderr)
    if isinstance(error, Unauthorized):
        print(f"  {API_KEY_HINT}", file=sys.stderr)


def api_command(func: Callable[..., int]) -> Callable[..., int]:
    """Wrap a subcommand so that API errors and Ctrl-C end it with the documented codes."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> int:
        try:
            return func(*args, **kwargs)
        except InferqError as error:
            report_error(error)
            return exit_code_for(error)
        except httpx.TransportError as exc:  # commands that call the API with httpx directly
            unreachable = Unavailable(None, "API unreachable", f"{type(exc).__name__}: {exc}")
            report_error(unreachable)
            return exit_code_for(unreachable)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return ExitCode.INTERRUPTED

    return wrapper
