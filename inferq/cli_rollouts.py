"""`inferq models canary|shadow|compare|promote|history`: rolling out a version, over HTTP."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

import httpx

from inferq.cli_errors import ExitCode
from inferq.client.protocol import auth_headers, check, env_api_key, env_url

Subcommand = Callable[[Any, str, Any], argparse.ArgumentParser]


def add_rollout_commands(sub: Any, add: Subcommand) -> list[argparse.ArgumentParser]:
    """Register the rollout subcommands of `models` (each made with `add`); returns them."""
    canary = add(sub, "canary", cmd_models_canary)
    canary.add_argument("name")
    canary.add_argument("alias")
    canary.add_argument("version", type=int, help="the canary version")
    canary.add_argument("--percent", type=float, required=True, help="share of traffic, 0-100")
    shadow = add(sub, "shadow", cmd_models_shadow)
    shadow.add_argument("name")
    shadow.add_argument("alias")
    shadow.add_argument("version", type=int, help="the shadow version")
    for parser in (canary, shadow):
        parser.add_argument("--keep", action="store_true", help="keep the alias's other split")
    compare = add(sub, "compare", cmd_models_compare)
    compare.add_argument("name")
    compare.add_argument("alias")
    compare.add_argument("--window", choices=["1h", "24h", "7d"], default="1h")
    compare.add_argument("--json", action="store_true", help="print the whole answer as JSON")
    promote = add(sub, "promote", cmd_models_promote)
    promote.add_argument("name")
    promote.add_argument("alias")
    promote.add_argument("--to", choices=["canary", "shadow"], default=None)
    history = add(sub, "history", cmd_models_history)
    history.add_argument("name")
    return [canary, shadow, compare, promote, history]


def cmd_models_canary(args: argparse.Namespace) -> int:
    """Send a share of an alias's traffic to a canary version."""
    canary = {"version": args.version, "percent": args.percent}
    return _split(args, "canary", canary)


def cmd_models_shadow(args: argparse.Namespace) -> int:
    """Have a shadow version also score every job on the alias, for comparison."""
    return _split(args, "shadow", args.version)


def cmd_models_compare(args: argparse.Namespace) -> int:
    """Show how the alias's shadow compares with its version over a window."""
    path = f"/v1/models/{args.name}/aliases/{args.alias}/comparison"
    with _client(args) as client:
        response = client.get(path, params={"window": args.window})
    check(response)
    report = response.json()
    if args.json:
        print(json.dumps(report, indent=2))
        return ExitCode.OK
    head = f"{args.name}@{args.alias}: v{report['version']} vs shadow v{report['shadow']}"
    print(f"{head}, {report['window']}: {report['rows_compared']} rows compared")
    if report["task"] == "classification":
        agreement = report["agreement"]
        shown = "-" if agreement is None else f"{agreement:.4%}"
        print(f"  label agreement {shown} ({report['rows_agreeing']} rows)")
        for primary, row in sorted(report["confusion"].items()):
            print(f"  {primary} -> " + ", ".join(f"{s}: {n}" for s, n in sorted(row.items())))
    else:
        print(f"  mean |diff| {report['mean_abs_difference']}, p99 {report['p99_abs_difference']}")
    for worst in report["worst_rows"][:5]:
        print(f"  worst: {worst['job']} row {worst['row']} ({worst['difference']:.4g})")
    return ExitCode.OK


def cmd_models_promote(args: argparse.Namespace) -> int:
    """Make the alias's canary or shadow its version and clear the split."""
    path = f"/v1/models/{args.name}/aliases/{args.alias}/promote"
    with _client(args) as client:
        response = client.post(path, json={"to": args.to} if args.to else None)
    check(response)
    state = response.json()["traffic"][args.alias]
    print(f"{args.name}@{args.alias} -> {state['version']}")
    return ExitCode.OK


def cmd_models_history(args: argparse.Namespace) -> int:
    """List the model's alias changes, newest first, with who made them."""
    with _client(args) as client:
        response = client.get(f"/v1/models/{args.name}/history")
    check(response)
    for change in response.json()["data"]:
        before = json.dumps(change["before"]) if change["before"] else "-"
        after = json.dumps(change["after"]) if change["after"] else "-"
        print(f"{change['at']}  {change['by']}  {change['action']} {change['alias']}: ", end="")
        print(f"{before} -> {after}")
    return ExitCode.OK


def _split(args: argparse.Namespace, kind: str, value: Any) -> int:
    """PUT the alias with its version and the new canary or shadow (the other kept if asked)."""
    with _client(args) as client:
        model = client.get(f"/v1/models/{args.name}")
        check(model)
        state = model.json()["traffic"].get(args.alias)
        if state is None:
            print(f"error: {args.name} has no alias {args.alias!r}; point it first")
            return ExitCode.USAGE
        body = {"version": state["version"], kind: value}
        other = "shadow" if kind == "canary" else "canary"
        if args.keep and other in state:
            body[other] = state[other]
        response = client.put(f"/v1/models/{args.name}/aliases/{args.alias}", json=body)
    check(response)
    print(f"{args.name}@{args.alias} " + json.dumps(response.json()["traffic"][args.alias]))
    return ExitCode.OK


def _client(args: argparse.Namespace) -> httpx.Client:
    headers = auth_headers(env_api_key(args.api_key))
    return httpx.Client(base_url=env_url(args.url), headers=headers, timeout=30.0)
