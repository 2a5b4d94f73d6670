"""The `inferq` command: one function per subcommand, each returning the exit code."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from inferq.cli_errors import ExitCode
from inferq.cli_jobs import add_job_commands
from inferq.cli_keys import add_keys_command
from inferq.cli_models import add_model_commands
from inferq.cli_storage import add_storage_command
from inferq.cli_usage import add_usage_command
from inferq.config import get_settings, settings_field_docs

Command = Callable[[argparse.Namespace], int]
EXIT_CODES_HELP = "exit codes: " + ", ".join(f"{c.value} {c.name.lower()}" for c in ExitCode)


def cmd_up(args: argparse.Namespace) -> int:
    """Run Redis (unless configured), a worker and the API in the foreground."""
    from inferq.launcher import up

    return up(get_settings())


def cmd_worker(args: argparse.Namespace) -> int:
    """Replace this process with one Celery worker, as `inferq up` runs it (for extra machines)."""
    from inferq.launcher import worker_argv

    argv = worker_argv(get_settings())
    os.execv(argv[0], argv)
    return 1  # unreachable: execv does not return


def cmd_config(args: argparse.Namespace) -> int:
    """Print every setting: environment variable, default and what it does."""
    rows = [("VARIABLE", "DEFAULT", "DESCRIPTION"), *settings_field_docs()]
    name_width = max(len(name) for name, _, _ in rows)
    default_width = min(max(len(default) for _, default, _ in rows), 24)
    for name, default, description in rows:
        print(f"{name:<{name_width}}  {default:<{default_width}}  {description}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one subparser per command."""
    parser = argparse.ArgumentParser(
        prog="inferq",
        description="Queue-based asynchronous batch inference.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add(commands, "up", cmd_up)
    _add(commands, "worker", cmd_worker)
    _add(commands, "config", cmd_config)
    add_model_commands(commands)
    add_job_commands(commands)
    add_keys_command(commands)
    add_storage_command(commands)
    add_usage_command(commands)
    return parser


def _add(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, func: Command
) -> argparse.ArgumentParser:
    """Register `func` as subcommand `name`, its docstring's first line as the help."""
    summary = (func.__doc__ or "").strip().splitlines()[0]
    sub = commands.add_parser(name, help=summary, description=summary)
    sub.set_defaults(func=func)
    return sub


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the `inferq` console script."""
    args = build_parser().parse_args(argv)
    sys.exit(args.func(args))


if __name__ == "__main__":
    main()
