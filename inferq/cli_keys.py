"""`inferq keys create|list|revoke`: manage API keys through the admin API."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import httpx

from inferq.api_keys import SCOPES
from inferq.cli_errors import ExitCode, api_command
from inferq.client.protocol import DEFAULT_URL, auth_headers, check, env_api_key, env_url

DEFAULT_SCOPES = ["jobs:write", "jobs:read"]


def add_keys_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `keys` with its create, list and revoke subcommands."""
    keys = commands.add_parser(
        "keys", help="Create, list and revoke API keys (needs an admin key)."
    )
    actions = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create = _action(actions, "create", cmd_create)
    create.add_argument("--tenant", required=True, help="tenant the key acts for, e.g. acme")
    create.add_argument(
        "--scope",
        action="append",
        choices=SCOPES,
        dest="scopes",
        help=f"a scope to grant; repeat for several (default: {' '.join(DEFAULT_SCOPES)})",
    )
    create.add_argument("--name", default="", help="a name to recognise the key by")
    listing = _action(actions, "list", cmd_list)
    listing.add_argument("--tenant", help="only the keys of this tenant")
    revoke = _action(actions, "revoke", cmd_revoke)
    revoke.add_argument("key_id", help="the id of the key (key_...), as `inferq keys list` shows")


def cmd_create(args: argparse.Namespace) -> int:
    """Create a key; prints the key alone on stdout (shown once), what it grants on stderr."""
    body = {"tenant": args.tenant, "scopes": args.scopes or DEFAULT_SCOPES, "name": args.name}
    created = _call(args, "POST", "/v1/keys", json=body)
    scopes = " ".join(created["scopes"])
    print(f"created {created['id']} for tenant {created['tenant']} ({scopes})", file=sys.stderr)
    print("the key is shown only now; keep it somewhere safe:", file=sys.stderr)
    print(created["key"])
    return ExitCode.OK


def cmd_list(args: argparse.Namespace) -> int:
    """List live keys (never their secrets)."""
    params = {"tenant": args.tenant} if args.tenant else {}
    rows = [
        (k["id"], k["tenant"], ",".join(k["scopes"]), k["hint"] + "...", k["created_at"], k["name"])
        for k in _call(args, "GET", "/v1/keys", params=params)["data"]
    ]
    _table([("ID", "TENANT", "SCOPES", "KEY", "CREATED", "NAME"), *rows])
    return ExitCode.OK


def cmd_revoke(args: argparse.Namespace) -> int:
    """Revoke a key; requests made with it are refused from now on."""
    _call(args, "DELETE", f"/v1/keys/{args.key_id}")
    print(f"revoked {args.key_id}", file=sys.stderr)
    return ExitCode.OK


def _action(
    actions: argparse._SubParsersAction[argparse.ArgumentParser], name: str, func: Any
) -> argparse.ArgumentParser:
    summary = (func.__doc__ or "").strip().splitlines()[0]
    parser = actions.add_parser(name, help=summary, description=summary)
    parser.add_argument("--url", help=f"the API (default: $INFERQ_URL or {DEFAULT_URL})")
    parser.add_argument("--api-key", help="an admin API key (default: $INFERQ_API_KEY)")
    parser.set_defaults(func=api_command(func))
    return parser


def _call(args: argparse.Namespace, method: str, path: str, **kwargs: Any) -> Any:
    """One API call with the admin key; the JSON answer, or the client's typed error."""
    headers = auth_headers(env_api_key(args.api_key))
    response = httpx.request(
        method, env_url(args.url) + path, headers=headers, timeout=30, **kwargs
    )
    check(response)
    return response.json() if response.content else None


def _table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
