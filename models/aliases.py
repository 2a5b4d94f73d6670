"""Moving aliases with their splits, promoting a canary or shadow, and the history of changes.

Every change of an alias (pointing it, splitting it, promoting, removing) is one MULTI with its
history entry, newest first, kept to the last `HISTORY_LENGTH` per model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from inferq.redis_client import decoded
from inferq.timefmt import now_rfc3339
from models.registry import ModelRegistry, ModelVersion, aliases_key, splits_key
from models.routing import Split

HISTORY_LENGTH = 1000


def history_key(name: str) -> str:
    """The list of a model's alias changes (JSON objects, newest first)."""
    return f"inferq:model:{name}:history"


class SplitRefused(ValueError):
    """A canary or shadow version that cannot serve beside the alias's version."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class NothingToPromote(LookupError):
    """The alias has no canary or shadow (or not the one asked for)."""


@dataclass(frozen=True)
class AliasState:
    """Where an alias points: its version and its split."""

    version: int
    split: Split | None = None

    def public(self) -> dict[str, Any]:
        """The alias as the API shows it (the body a PUT takes back, to roll back)."""
        return {"version": self.version, **(self.split.public() if self.split else {})}


class AliasBook:
    """Reads and changes a model's aliases and splits; every change goes in the history."""

    def __init__(self, registry: ModelRegistry) -> None:
        self.registry = registry
        self.redis = registry.redis

    def states(self, name: str) -> dict[str, AliasState]:
        """Every alias of the model with its split."""
        splits = {
            decoded(alias): Split.decode(raw)
            for alias, raw in self.redis.hgetall(splits_key(name)).items()
        }
        return {
            alias: AliasState(version, splits.get(alias))
            for alias, version in self.registry.aliases(name).items()
        }

    def state(self, name: str, alias: str) -> AliasState | None:
        """One alias with its split; None when it does not exist."""
        return self.states(name).get(alias)

    def put(self, name: str, alias: str, version: int, split: Split | None, by: str) -> AliasState:
        """Point `alias` at `version` with `split` (None clears it). Raises ModelNotFound for a
        missing version, SplitRefused for a canary or shadow that cannot serve beside it."""
        primary = self.registry.get_version(name, version)
        if split is not None:
            for field, other in (("canary", split.canary), ("shadow", split.shadow)):
                if other is not None:
                    check_compatible(field, primary, self._other(name, field, other))
            if split.canary is None and split.shadow is None:
                split = None
        after = AliasState(version, split)
        self._write(name, alias, self.state(name, alias), after, "put", by)
        return after

    def delete(self, name: str, alias: str, by: str) -> bool:
        """Remove an alias and its split; False when it did not exist."""
        before = self.state(name, alias)
        if before is None:
            return False
        self._write(name, alias, before, None, "delete", by)
        return True

    def promote(self, name: str, alias: str, to: str | None, by: str) -> AliasState:
        """Make the canary or shadow (`to`; either, when the alias has only one) the alias's
        version and clear the split."""
        before = self.state(name, alias)
        split = before.split if before else None
        offered: dict[str, int] = {}
        if split is not None and split.canary is not None:
            offered["canary"] = split.canary
        if split is not None and split.shadow is not None:
            offered["shadow"] = split.shadow
        if to is None and len(offered) > 1:
            raise SplitRefused(
                "to", 'the alias has a canary and a shadow: say "canary" or "shadow"'
            )
        chosen = offered.get(to) if to else next(iter(offered.values()), None)
        if before is None or chosen is None:
            raise NothingToPromote(f"alias {alias!r} of {name!r} has no {to or 'canary or shadow'}")
        after = AliasState(chosen)
        self._write(name, alias, before, after, "promote", by)
        return after

    def history(self, name: str, limit: int = 100) -> list[dict[str, Any]]:
        """The model's alias changes, newest first."""
        return [orjson.loads(raw) for raw in self.redis.lrange(history_key(name), 0, limit - 1)]

    def _other(self, name: str, field: str, version: int) -> ModelVersion:
        try:
            return self.registry.get_version(name, version)
        except LookupError:
            raise SplitRefused(field, f"model {name!r} has no version {version}") from None

    def _write(
        self,
        name: str,
        alias: str,
        before: AliasState | None,
        after: AliasState | None,
        action: str,
        by: str,
    ) -> None:
        entry = {
            "at": now_rfc3339(),
            "by": by,
            "action": action,
            "alias": alias,
            "before": before.public() if before else None,
            "after": after.public() if after else None,
        }
        pipe = self.redis.pipeline(transaction=True)
        if after is None:
            pipe.hdel(aliases_key(name), alias)
        else:
            pipe.hset(aliases_key(name), alias, str(after.version))
        if after is not None and after.split is not None:
            pipe.hset(splits_key(name), alias, after.split.encode())
        else:
            pipe.hdel(splits_key(name), alias)
        pipe.lpush(history_key(name), orjson.dumps(entry))
        pipe.ltrim(history_key(name), 0, HISTORY_LENGTH - 1)
        pipe.execute()


def check_compatible(field: str, primary: ModelVersion, other: ModelVersion) -> None:
    """SplitRefused naming the features when `other` does not take the primary's feature set."""
    if other.schema.task != primary.schema.task:
        raise SplitRefused(
            field, f"version {other.version} is a {other.schema.task} model, "
            f"version {primary.version} a {primary.schema.task} one",
        )  # fmt: skip
    wanted, given = primary.schema.feature_names, set(other.schema.feature_names)
    missing = [feature for feature in wanted if feature not in given]
    extra = [feature for feature in other.schema.feature_names if feature not in set(wanted)]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"lacks the features {missing} of version {primary.version}")
        if extra:
            parts.append(f"needs the features {extra} that version {primary.version} lacks")
        raise SplitRefused(field, f"version {other.version} " + " and ".join(parts))
