"""`inferq models push|list|alias` (and `canary|shadow|compare|promote|history`, in
`inferq.cli_rollouts`): the model registry from the command line, over HTTP."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import httpx

from inferq.cli_errors import ExitCode, api_command
from inferq.cli_rollouts import add_rollout_commands
from inferq.client.protocol import auth_headers, check, env_api_key, env_url

#: Uploads are checked (loaded and run) before the answer: allow for a slow model.
UPLOAD_TIMEOUT = 300.0


def add_model_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `models` with its `push`, `list` and `alias` subcommands."""
    models = commands.add_parser("models", help="Upload models, list them, move aliases.")
    sub = models.add_subparsers(dest="models_command", required=True, metavar="SUBCOMMAND")
    push = _sub(sub, "push", cmd_models_push)
    push.add_argument("name", help="model name")
    push.add_argument("file", type=Path, help="the artifact file")
    push.add_argument(
        "--format",
        choices=["skops", "joblib", "pickle", "onnx", "xgboost", "lightgbm", "mlflow"],
        default=None,
        help="artifact format (default: from the extension, else skops)",
    )
    push.add_argument("--description", default="")
    push.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="TYPE",
        help="a skops type you trust (repeatable)",
    )
    push.add_argument(
        "--feature",
        action="append",
        default=[],
        metavar="NAME",
        help="feature names in order, if the model lacks feature_names_in_",
    )
    push.add_argument(
        "--string-feature",
        action="append",
        default=[],
        metavar="NAME",
        help="a feature holding category strings (repeatable)",
    )
    push.add_argument(
        "--class",
        dest="classes",
        action="append",
        default=[],
        metavar="LABEL",
        help="class labels in the model's order, for boosters and ONNX graphs (repeatable)",
    )
    push.add_argument("--shared", action="store_true", help="every tenant may score it (admin)")
    push.add_argument("--alias", help="point this alias (e.g. production) at the new version")
    listing = _sub(sub, "list", cmd_models_list)
    listing.add_argument("name", nargs="?", help="show one model's versions")
    alias = _sub(sub, "alias", cmd_models_alias)
    alias.add_argument("name")
    alias.add_argument("alias")
    alias.add_argument("version", nargs="?", type=int, help="version to point at")
    alias.add_argument("--delete", action="store_true", help="remove the alias instead")
    rollout = add_rollout_commands(sub, _sub)
    for parser in (push, listing, alias, *rollout):
        parser.add_argument("--url", default=None, help="API base URL (env INFERQ_URL)")
        parser.add_argument("--api-key", default=None, help="API key (env INFERQ_API_KEY)")


def cmd_models_push(args: argparse.Namespace) -> int:
    """Upload an artifact as the model's next version (checked by the server first)."""
    fmt = args.format or _format_from_extension(args.file)
    data: dict[str, Any] = {"format": fmt, "description": args.description}
    data["trusted_types"] = args.trust
    data["feature_names"] = args.feature
    data["feature_types"] = json.dumps(dict.fromkeys(args.string_feature, "string"))
    data["classes"] = args.classes
    data["shared"] = str(args.shared).lower()
    if args.alias:
        data["alias"] = args.alias
    with _client(args, UPLOAD_TIMEOUT) as client, args.file.open("rb") as handle:
        files = {"file": (args.file.name, handle, "application/octet-stream")}
        response = client.post(f"/v1/models/{args.name}/versions", data=data, files=files)
    check(response)
    version = response.json()
    print(f"{version['name']}@{version['version']}")
    return ExitCode.OK


def cmd_models_list(args: argparse.Namespace) -> int:
    """List models with their versions and aliases (or one model's versions)."""
    with _client(args) as client:
        path = f"/v1/models/{args.name}" if args.name else "/v1/models"
        response = client.get(path)
    check(response)
    body = response.json()
    for model in [body] if args.name else body["data"]:
        aliases = ", ".join(f"{a}={v}" for a, v in sorted(model["aliases"].items()))
        print(f"{model['name']}  default={model['default_version']}  aliases: {aliases or '-'}")
        if args.name:
            for version in model["versions"]:
                features = ", ".join(f"{f['name']}:{f['type']}" for f in version["features"])
                print(
                    f"  v{version['version']}  {version['format']}  {version['task']}  "
                    f"{version['created_at']}  [{features}]"
                )
    return ExitCode.OK


def cmd_models_alias(args: argparse.Namespace) -> int:
    """Point an alias at a version, or remove it with --delete."""
    path = f"/v1/models/{args.name}/aliases/{args.alias}"
    if not args.delete and args.version is None:
        print("error: give a VERSION, or --delete", file=sys.stderr)
        return ExitCode.USAGE
    with _client(args) as client:
        if args.delete:
            response = client.delete(path)
        else:
            response = client.put(path, json={"version": args.version})
    check(response)
    target = "removed" if args.delete else f"-> {args.version}"
    print(f"{args.name}@{args.alias} {target}")
    return ExitCode.OK


def _sub(sub: Any, name: str, func: Any) -> argparse.ArgumentParser:
    summary = (func.__doc__ or "").strip().splitlines()[0]
    parser = sub.add_parser(name, help=summary, description=summary)
    parser.set_defaults(func=api_command(func))
    return parser


def _client(args: argparse.Namespace, timeout: float = 30.0) -> httpx.Client:
    """An HTTP client of the API with the key, as the Python client would make it."""
    headers = auth_headers(env_api_key(args.api_key))
    return httpx.Client(base_url=env_url(args.url), headers=headers, timeout=timeout)


_FORMAT_OF_SUFFIX = {
    ".joblib": "joblib",
    ".pkl": "pickle",
    ".pickle": "pickle",
    ".onnx": "onnx",
    ".ubj": "xgboost",
    ".xgb": "xgboost",
    ".lgb": "lightgbm",
    ".zip": "mlflow",
    ".gz": "mlflow",
}


def _format_from_extension(path: Path) -> str:
    return _FORMAT_OF_SUFFIX.get(path.suffix, "skops")
