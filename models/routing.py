"""Traffic control between versions of one alias: a canary share and a shadow version.

An alias points at one version; it may also carry a `Split`: a canary version that takes a
share of the alias's traffic, and a shadow version that scores the same input as the primary
at the lowest priority, for comparison only. Each job (or synchronous request) resolves to
exactly one version at submission: `Route.choose` hashes a seed (the Idempotency-Key when the
client gave one, so a retry gets the same version; else the job or request id) into one of
10,000 buckets, and the first `percent * 100` buckets go to the canary.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from models.registry import (
    DEFAULT_ALIAS,
    ModelRegistry,
    ModelVersion,
    parsed_version,
    resolved,
    visible,
)

#: Buckets a seed hashes into: a canary percent has two decimals of resolution.
BUCKETS = 10_000


@dataclass(frozen=True)
class Split:
    """What an alias carries beside its version: a canary and its share, and a shadow."""

    canary: int | None = None
    percent: float = 0.0
    shadow: int | None = None

    @property
    def buckets(self) -> int:
        """How many of the `BUCKETS` go to the canary."""
        return round(self.percent * 100) if self.canary is not None else 0

    def encode(self) -> str:
        """The stored form, read by the resolution script: ``<canary|-> <buckets> <shadow|->``."""
        canary = "-" if self.canary is None else str(self.canary)
        shadow = "-" if self.shadow is None else str(self.shadow)
        return f"{canary} {self.buckets} {shadow}"

    @classmethod
    def decode(cls, raw: bytes | str | None) -> Split | None:
        """Read `encode`'s form; None for no split."""
        if not raw:
            return None
        canary, buckets, shadow = (raw.decode() if isinstance(raw, bytes) else raw).split(" ")
        return cls(
            canary=None if canary == "-" else int(canary),
            percent=int(buckets) / 100,
            shadow=None if shadow == "-" else int(shadow),
        )

    def public(self) -> dict[str, object]:
        """The split as the API shows it beside the alias's version."""
        shown: dict[str, object] = {}
        if self.canary is not None:
            shown["canary"] = {"version": self.canary, "percent": self.percent}
        if self.shadow is not None:
            shown["shadow"] = self.shadow
        return shown


def canary_bucket(seed: str) -> int:
    """The bucket (0 to 9,999) a seed falls in; the same seed always falls in the same one."""
    digest = hashlib.blake2b(seed.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


@dataclass(frozen=True)
class Route:
    """What a model reference means now: the alias's version and its split, if any."""

    primary: ModelVersion
    canary: ModelVersion | None = None
    split: Split | None = None
    alias: str | None = None
    """The alias the reference went through (None for ``name@3``)."""

    def signature(self) -> str:
        """What the submission scripts compare to see whether the reference moved since."""
        return f"{self.primary.version}|{self.split.encode() if self.split else ''}"

    def choose(self, seed: str) -> Choice:
        """The version a job or request with this seed is scored with."""
        split = self.split
        canary = self.canary
        if split is not None and canary is not None and canary_bucket(seed) < split.buckets:
            return Choice(canary, canary=True, shadow=None, alias=self.alias)
        shadow = split.shadow if split is not None else None
        return Choice(self.primary, canary=False, shadow=shadow, alias=self.alias)


@dataclass(frozen=True)
class Choice:
    """The version one job got, whether as the canary, and the shadow that also scores it.

    A job that went to the canary has no shadow: the comparison is always between the alias's
    own version and its shadow.
    """

    model: ModelVersion
    canary: bool
    shadow: int | None
    alias: str | None


def route_from_reply(ref: str, raw: bytes, split: bytes, canary_raw: bytes) -> Route:
    """The route the resolution script answered: the primary's record, the split, and the
    canary's record ('' when none)."""
    _, _, selector = ref.partition("@")
    alias = None if selector.isdigit() else (selector or None)
    parsed = Split.decode(split)
    if parsed is not None and not selector:
        alias = DEFAULT_ALIAS  # a bare name goes through the default alias's split
    return Route(
        primary=parsed_version(raw),
        canary=parsed_version(canary_raw) if canary_raw else None,
        split=parsed,
        alias=alias,
    )


def routed(ref: str, reply: list[bytes], tenant: str | None) -> Route:
    """The route a resolution reply means, if `tenant` may use it; else ModelNotFound."""
    primary = visible(resolved(ref, reply), tenant)  # raises ModelNotFound saying what is missing
    route = route_from_reply(ref, reply[1], reply[3], reply[4])
    return Route(primary, route.canary, route.split, route.alias)


def route(registry: ModelRegistry, ref: str, tenant: str | None = None) -> Route:
    """What `ref` means now for `tenant`: its version and the alias's split."""
    return routed(ref, registry.resolve_reply(ref), tenant)


async def route_async(registry: ModelRegistry, ref: str, tenant: str | None = None) -> Route:
    """`route` on the registry's async client."""
    return routed(ref, await registry.resolve_reply_async(ref), tenant)
