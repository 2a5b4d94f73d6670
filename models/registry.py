"""ModelRegistry: model versions and aliases in Redis, artifacts in storage."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import orjson
import redis
import redis.asyncio as aioredis

from inferq.redis_client import ScriptArgs, decoded
from inferq.schema import ModelSchema
from inferq.storage import Storage
from inferq.timefmt import now_rfc3339
from models.artifacts import EXTENSIONS, ArtifactFormat

_PREFIX = "inferq:model"
_NAMES = "inferq:models"
DEFAULT_ALIAS = "production"


#: Keeps `next_version` at least the highest version stored, so numbering never reuses one.
_RAISE_NEXT_VERSION = """
local current = tonumber(redis.call('HGET', KEYS[1], 'next_version') or '0')
if tonumber(ARGV[1]) > current then redis.call('HSET', KEYS[1], 'next_version', ARGV[1]) end
"""


# What a reference means now, as a function the submission scripts share: {'ok', version
# record, version, the alias's split ('' for none), the canary's record ('' for none)} or what
# is missing. KEYS: model names, the model's aliases, versions and splits (see models.routing).
RESOLVE_LUA = """
local function resolve(names, aliases, versions, splits, name, selector, default_alias)
  if redis.call('SISMEMBER', names, name) == 0 then return {'no_model', ''} end
  local version
  local split = ''
  if selector ~= '' and string.match(selector, '^%d+$') then
    version = selector
  elseif selector ~= '' then
    version = redis.call('HGET', aliases, selector)
    if not version then return {'no_alias', selector} end
    split = redis.call('HGET', splits, selector) or ''
  else
    version = redis.call('HGET', aliases, default_alias)
    if version then
      split = redis.call('HGET', splits, default_alias) or ''
    else
      local newest = -1
      for _, v in ipairs(redis.call('HKEYS', versions)) do
        if tonumber(v) > newest then newest = tonumber(v) end
      end
      version = tostring(newest)
    end
  end
  local raw = redis.call('HGET', versions, version)
  if not raw then return {'no_version', version} end
  local canary = string.match(split, '^(%d+) ')
  local canary_raw = canary and redis.call('HGET', versions, canary) or ''
  return {'ok', raw, version, split, canary_raw}
end
"""
_RESOLVE = (
    RESOLVE_LUA + "return resolve(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2], ARGV[3])\n"
)


class VersionExists(ValueError):
    """That exact version of the model is already registered."""


class ModelNotFound(LookupError):
    """No model, version or alias of that name exists (for this tenant)."""


@dataclass
class ModelVersion:
    """One registered version of a model: where its artifact is and what it expects."""

    name: str
    version: int
    format: ArtifactFormat
    artifact_key: str
    schema: ModelSchema
    sha256: str
    size_bytes: int
    created_at: str
    tenant: str = "default"
    shared: bool = False
    trusted_types: list[str] = field(default_factory=list)
    description: str = ""

    def visible_to(self, tenant: str) -> bool:
        """Whether `tenant` may see and score this version: its own, or one shared with all."""
        return self.shared or self.tenant == tenant

    def to_json(self) -> bytes:
        """The stored form."""
        return orjson.dumps({**asdict(self), "schema": self.schema.to_dict()})

    @classmethod
    def from_json(cls, raw: bytes | str) -> ModelVersion:
        """Rebuild from `to_json` output."""
        data = orjson.loads(raw)
        return cls(**{**data, "schema": ModelSchema.from_dict(data["schema"])})


def parse_ref(ref: str) -> tuple[str, str | None]:
    """Split ``name``, ``name@3`` or ``name@alias`` into the name and the part after ``@``."""
    name, _, selector = ref.partition("@")
    return name, selector or None


class ModelRegistry:
    """Registers, lists and resolves model versions; shared by the API and the workers."""

    def __init__(
        self, client: redis.Redis, storage: Storage, aclient: aioredis.Redis | None = None
    ) -> None:
        self.redis = client
        self.storage = storage
        self._resolve_script = client.register_script(_RESOLVE)
        if aclient is not None:  # the API resolves on its event loop, without a thread hop
            self._resolve_async = aclient.register_script(_RESOLVE)

    def register(
        self,
        name: str,
        artifact: bytes,
        fmt: ArtifactFormat,
        schema: ModelSchema,
        *,
        tenant: str = "default",
        shared: bool = False,
        trusted_types: list[str] | None = None,
        description: str = "",
        version: int | None = None,
    ) -> ModelVersion:
        """Store a checked artifact as the model's next version (or as `version`) and return it.

        An explicit version (from a model repository folder) must not exist yet: VersionExists.
        """
        if version is None:
            version = int(self.redis.hincrby(f"{_PREFIX}:{name}", "next_version", 1))
        elif self.redis.hexists(f"{_PREFIX}:{name}:versions", str(version)):
            raise VersionExists(f"model {name!r} already has version {version}")
        key = f"models/{name}/{version}/model.{EXTENSIONS[fmt]}"
        self.storage.write_bytes(key, artifact)
        record = ModelVersion(
            name=name,
            version=version,
            format=fmt,
            artifact_key=key,
            schema=schema,
            sha256=hashlib.sha256(artifact).hexdigest(),
            size_bytes=len(artifact),
            created_at=now_rfc3339(),
            tenant=tenant,
            shared=shared,
            trusted_types=trusted_types or [],
            description=description,
        )
        pipe = self.redis.pipeline(transaction=True)
        pipe.hsetnx(f"{_PREFIX}:{name}:versions", str(version), record.to_json())
        pipe.hsetnx(f"{_PREFIX}:{name}", "created_at", record.created_at)
        pipe.hsetnx(f"{_PREFIX}:{name}", "tenant", tenant)
        pipe.eval(_RAISE_NEXT_VERSION, 1, f"{_PREFIX}:{name}", str(version))
        pipe.sadd(_NAMES, name)
        created = pipe.execute()[0]
        if not created:
            raise VersionExists(f"model {name!r} already has version {version}")
        return record

    def owner(self, name: str) -> str | None:
        """The tenant that registered the model's first version; None for an unknown name."""
        raw = self.redis.hget(f"{_PREFIX}:{name}", "tenant")
        if raw is None:
            return "default" if self.exists(name) else None
        return decoded(raw)

    def names(self) -> list[str]:
        """Every registered model name, sorted."""
        return sorted(decoded(name) for name in self.redis.smembers(_NAMES))

    def exists(self, name: str) -> bool:
        """Whether a model of that name has any version."""
        return bool(self.redis.sismember(_NAMES, name))

    def versions(self, name: str) -> list[ModelVersion]:
        """All versions of a model, oldest first."""
        raw = self.redis.hgetall(f"{_PREFIX}:{name}:versions")
        return sorted((ModelVersion.from_json(v) for v in raw.values()), key=lambda m: m.version)

    def aliases(self, name: str) -> dict[str, int]:
        """The model's aliases and the versions they point at."""
        raw = self.redis.hgetall(f"{_PREFIX}:{name}:aliases")
        return {decoded(alias): int(version) for alias, version in raw.items()}

    def get_version(self, name: str, version: int) -> ModelVersion:
        """One exact version; ModelNotFound when absent."""
        raw = self.redis.hget(f"{_PREFIX}:{name}:versions", str(version))
        if raw is None:
            raise ModelNotFound(f"model {name!r} has no version {version}")
        return ModelVersion.from_json(raw)

    def resolve(self, ref: str, tenant: str | None = None) -> ModelVersion:
        """The exact version a reference means now (for `tenant`: one it may see, else 404).

        ``name@3`` is version 3, ``name@alias`` the alias's version, and a bare ``name`` the
        ``production`` alias when set, else the newest version.
        """
        return visible(resolved(ref, self._resolve_script(**resolve_call(ref))), tenant)

    async def resolve_async(self, ref: str, tenant: str | None = None) -> ModelVersion:
        """`resolve` on the async client."""
        return visible(resolved(ref, await self._resolve_async(**resolve_call(ref))), tenant)

    def resolve_reply(self, ref: str) -> list[bytes]:
        """The resolution script's answer for `ref` (see `RESOLVE_LUA`; `models.routing`)."""
        return list(self._resolve_script(**resolve_call(ref)))

    async def resolve_reply_async(self, ref: str) -> list[bytes]:
        """`resolve_reply` on the async client."""
        return list(await self._resolve_async(**resolve_call(ref)))

    def set_alias(self, name: str, alias: str, version: int) -> None:
        """Point an alias at an existing version; new jobs resolve to it from now on."""
        self.get_version(name, version)
        self.redis.hset(f"{_PREFIX}:{name}:aliases", alias, str(version))

    def delete_alias(self, name: str, alias: str) -> bool:
        """Remove an alias; False when it did not exist."""
        return bool(self.redis.hdel(f"{_PREFIX}:{name}:aliases", alias))

    def read_artifact(self, version: ModelVersion) -> bytes:
        """The artifact bytes of a version, checked against the digest taken at upload."""
        data = self.storage.read_bytes(version.artifact_key)
        if hashlib.sha256(data).hexdigest() != version.sha256:
            raise ValueError(f"artifact of {version.name}@{version.version} changed since upload")
        return data


def _versions_key(name: str) -> str:
    return f"{_PREFIX}:{name}:versions"


def aliases_key(name: str) -> str:
    """The hash of a model's aliases: alias to version."""
    return f"{_PREFIX}:{name}:aliases"


def splits_key(name: str) -> str:
    """The hash of a model's alias splits: alias to `models.routing.Split.encode()`."""
    return f"{_PREFIX}:{name}:splits"


@lru_cache(maxsize=1024)
def parsed_version(raw: bytes) -> ModelVersion:
    """A stored version record, parsed once per distinct record (they never change in place)."""
    return ModelVersion.from_json(raw)


def resolve_call(ref: str) -> ScriptArgs:
    """The keys and arguments of `RESOLVE_LUA`'s `resolve` for a reference."""
    name, selector = parse_ref(ref)
    return {
        "keys": [
            _NAMES,
            f"{_PREFIX}:{name}:aliases",
            f"{_PREFIX}:{name}:versions",
            splits_key(name),
        ],
        "args": [name, selector or "", DEFAULT_ALIAS],
    }


def resolved(ref: str, reply: list[bytes]) -> ModelVersion:
    """The version `resolve` answered, or ModelNotFound saying what is missing."""
    name, selector = parse_ref(ref)
    kind, value = reply[0], reply[1]
    if kind == b"ok":
        return parsed_version(value)
    if kind == b"no_model":
        raise ModelNotFound(f"no model named {name!r}")
    if kind == b"no_alias":
        raise ModelNotFound(f"model {name!r} has no alias {selector!r}")
    raise ModelNotFound(f"model {name!r} has no version {decoded(value)}")


def visible(version: ModelVersion, tenant: str | None) -> ModelVersion:
    """The version, if `tenant` (None: anyone) may use it; else ModelNotFound."""
    if tenant is not None and not version.visible_to(tenant):
        raise ModelNotFound(f"no model named {version.name!r}")
    return version
