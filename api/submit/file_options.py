"""Job options given as query or form fields, for file uploads."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from pydantic import ValidationError

from api.schemas import JobOptions
from inferq.problems import InputProblem

_LISTS = ("outputs", "passthrough")
_JSON = ("metadata", "webhook")
#: Fields that are not job options: the file itself, an explicit format, and the route's own
#: query parameters (`?wait=`, `?include=`).
_NOT_OPTIONS = ("file", "format", "wait", "include")


def options_from_fields(fields: Iterable[tuple[str, str]], where: str) -> JobOptions:
    """JobOptions from `name=value` pairs; lists repeat or use commas; metadata/webhook are JSON."""
    values: dict[str, Any] = {}
    for name, value in fields:
        if name in _NOT_OPTIONS:
            continue
        if name in _LISTS:
            items = [item.strip() for item in value.split(",") if item.strip()]
            values.setdefault(name, []).extend(items)
        elif name in _JSON:
            values[name] = _json_field(name, value, where)
        elif name == "webhook_url":
            values["webhook"] = {"url": value}
        else:
            values[name] = value
    try:
        return JobOptions.model_validate(values)
    except ValidationError as exc:
        errors = [{"loc": [where, *e["loc"]], "msg": e["msg"]} for e in exc.errors()]
        raise InputProblem("Invalid job options", errors) from exc


def _json_field(name: str, value: str, where: str) -> Any:
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise InputProblem(
            "Invalid job options", [{"loc": [where, name], "msg": f"not JSON: {exc.msg}"}]
        ) from exc
