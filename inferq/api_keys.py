"""API keys: created for a tenant with scopes, stored only as a digest, revocable at once.

A key is 32 random bytes (256 bits), so the stored SHA-256 digest cannot be reversed or guessed:
a slow, salted password hash (bcrypt, argon2) protects *low-entropy* secrets and would cost
~100 ms of CPU on every request. An unsalted digest also lets a request find its key with one
Redis lookup (`inferq:apikey:<digest>`) instead of trying every stored hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
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
    return hmac.compare_digest(digest(presented), digest(admin_key))


class KeyStore:
    """Creates, finds, lists and revokes API keys in Redis."""

    def __init__(self, client: redis.Redis, aclient: aioredis.Redis | None = None) -> None:
        self.redis = client
        self.aredis = aclient

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
        """`authenticate` on the async client (the API's event loop)."""
        assert self.aredis is not None, "KeyStore built without an async client"
        raw = await self.aredis.get(_BY_DIGEST + digest(key))
        return ApiKey.from_json(raw) if raw else None

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
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(_BY_DIGEST + _text(stored))
        pipe.hdel(_BY_ID, key_id)
        pipe.execute()
        return True


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
