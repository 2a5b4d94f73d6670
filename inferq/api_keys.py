"""API keys: created for a tenant with scopes, stored only as a digest, revocable at once.

A key is 32 random bytes (256 bits), so the stored SHA-256 digest cannot be reversed or guessed:
a slow, salted password hash (bcrypt, argon2) protects *low-entropy* secrets and would cost
~100 ms of CPU on every request. An unsalted digest also lets a request find its key with one
Redis lookup (`inferq:apikey:<digest>`) instead of trying every stored hash.

The API checks a key on every request, so each process keeps the keys it found for
`KEY_CACHE_SECONDS` (1 s): a revoked key is refused by every API process within that time (at
once by the process that revoked it). Unknown keys are not kept, so a new key works at once.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass

import orjson
import redis
import redis.asyncio as aioredis

from inferq.ids import ulid
from inferq.timefmt import now_rfc3339

SCOPES = ("jobs:write", "jobs:read", "models:write", "admin")
KEY_PREFIX = "iqk_"
ADMIN_TENANT = "default"
_BY_DIGEST = "inferq:apikey:"
_BY_ID = "inferq:apikeys"
#: Seconds an API process trusts a key it found in Redis (the bound on a revocation's delay).
KEY_CACHE_SECONDS = 1.0
_CACHED_KEYS = 10_000


@dataclass(frozen=True)
class ApiKey:
    """What a key grants (never the key itself): its tenant and scopes."""

    id: str
    tenant: str
    scopes: tuple[str, ...]
    name: str
    created_at: str
    hint: str
    """The first characters of the key, so people can tell their keys apart in a listing."""

    def to_json(self) -> bytes:
        """The stored form."""
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes | str) -> ApiKey:
        """Rebuild from `to_json` output."""
        data = orjson.loads(raw)
        return cls(**{**data, "scopes": tuple(data["scopes"])})


def digest(key: str) -> str:
    """The SHA-256 hex digest under which a key is stored."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    """A fresh high-entropy API key."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def is_admin_key(presented: str, admin_key: str | None) -> bool:
    """Whether `presented` is the bootstrap admin key (compared in constant time)."""
    if not admin_key:
        return False
    return hmac.compare_digest(digest(presented), _admin_digest(admin_key))


@functools.lru_cache(maxsize=4)
def _admin_digest(admin_key: str) -> str:
    """The admin key's digest, hashed once per process rather than on every request."""
    return digest(admin_key)


class KeyStore:
    """Creates, finds, lists and revokes API keys in Redis."""

    def __init__(
        self,
        client: redis.Redis,
        aclient: aioredis.Redis | None = None,
        cache_seconds: float = KEY_CACHE_SECONDS,
    ) -> None:
        self.redis = client
        self.aredis = aclient
        self.cache_seconds = cache_seconds
        self._found: OrderedDict[str, tuple[float, ApiKey]] = OrderedDict()
        self._lookups: dict[str, asyncio.Future[ApiKey | None]] = {}

    def create(self, tenant: str, scopes: list[str], name: str = "") -> tuple[ApiKey, str]:
        """A new key for `tenant`; returns its record and the key, which is never shown again."""
        key = new_key()
        record = ApiKey(
            id=f"key_{ulid()}",
            tenant=tenant,
            scopes=tuple(dict.fromkeys(scopes)),
            name=name,
            created_at=now_rfc3339(),
            hint=key[: len(KEY_PREFIX) + 4],
        )
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(_BY_DIGEST + digest(key), record.to_json())
        pipe.hset(_BY_ID, record.id, digest(key))
        pipe.execute()
        return record, key

    def authenticate(self, key: str) -> ApiKey | None:
        """The key's record, or None when the key is unknown or revoked."""
        raw = self.redis.get(_BY_DIGEST + digest(key))
        return ApiKey.from_json(raw) if raw else None

    async def authenticate_async(self, key: str) -> ApiKey | None:
        """`authenticate` on the async client (the API's event loop), trusting a key found
        within the last `cache_seconds`. Requests that miss together share one lookup, so a
        key's expiry costs one round trip, not one per connection."""
        hashed = digest(key)
        kept = self._found.get(hashed)
        if kept is not None and kept[0] > time.monotonic():
            return kept[1]
        lookup = self._lookups.get(hashed)
        if lookup is None:
            lookup = asyncio.ensure_future(self._look_up(hashed))
            self._lookups[hashed] = lookup
            lookup.add_done_callback(lambda _: self._lookups.pop(hashed, None))
        return await asyncio.shield(lookup)

    async def _look_up(self, hashed: str) -> ApiKey | None:
        assert self.aredis is not None, "KeyStore built without an async client"
        raw = await self.aredis.get(_BY_DIGEST + hashed)
        if not raw:
            self._found.pop(hashed, None)
            return None
        found = ApiKey.from_json(raw)
        self._found[hashed] = (time.monotonic() + self.cache_seconds, found)
        self._found.move_to_end(hashed)
        if len(self._found) > _CACHED_KEYS:
            self._found.popitem(last=False)
        return found

    def list_keys(self, tenant: str | None = None) -> list[ApiKey]:
        """Every live key (of one tenant if given), oldest first; no secrets."""
        digests = list(self.redis.hvals(_BY_ID))
        raws = self.redis.mget([_BY_DIGEST + _text(d) for d in digests]) if digests else []
        found = [ApiKey.from_json(raw) for raw in raws if raw]
        return sorted(
            (k for k in found if tenant is None or k.tenant == tenant), key=lambda k: k.id
        )

    def revoke(self, key_id: str) -> bool:
        """Forget a key so the next request with it is refused; False when there is no such key."""
        stored = self.redis.hget(_BY_ID, key_id)
        if stored is None:
            return False
        self._found.pop(_text(stored), None)
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(_BY_DIGEST + _text(stored))
        pipe.hdel(_BY_ID, key_id)
        pipe.execute()
        return True


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
