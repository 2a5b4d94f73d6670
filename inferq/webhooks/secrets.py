"""A tenant's webhook signing secrets: one current secret, and older ones until they expire."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace

import orjson
import redis

from inferq.ids import ulid
from inferq.jobs import keys
from inferq.webhooks.signing import new_secret


@dataclass(frozen=True)
class WebhookSecret:
    """One signing secret; `expires_at` (epoch seconds) is None for the current one."""

    id: str
    secret: str
    created_at: float
    expires_at: float | None = None

    def active(self, now: float) -> bool:
        """Whether deliveries are still signed with this secret."""
        return self.expires_at is None or self.expires_at > now


class WebhookSecrets:
    """Creates, rotates, lists and revokes the secrets that sign a tenant's deliveries."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def rotate(self, tenant: str, previous_valid_seconds: float) -> WebhookSecret:
        """Make a new current secret; older ones keep signing for `previous_valid_seconds`."""
        created = WebhookSecret(id=f"whs_{ulid()}", secret=new_secret(), created_at=time.time())
        key = keys.webhook_secrets(tenant)

        def swap(pipe: redis.client.Pipeline) -> None:
            now = time.time()
            until = now + previous_valid_seconds
            existing = _decode_all(pipe.hgetall(key))
            pipe.multi()
            for old in existing:
                if not old.active(now):
                    pipe.hdel(key, old.id)
                    continue
                expires = until if old.expires_at is None else min(old.expires_at, until)
                pipe.hset(key, old.id, _encode(replace(old, expires_at=expires)))
            pipe.hset(key, created.id, _encode(created))

        self.redis.transaction(swap, key)
        return created

    def listed(self, tenant: str) -> list[WebhookSecret]:
        """The tenant's secrets still signing deliveries, newest first."""
        now = time.time()
        found = _decode_all(self.redis.hgetall(keys.webhook_secrets(tenant)))
        return sorted((s for s in found if s.active(now)), key=lambda s: s.id, reverse=True)

    def signing(self, tenant: str) -> list[str]:
        """The secret values a delivery is signed with now, newest first."""
        return [s.secret for s in self.listed(tenant)]

    def revoke(self, tenant: str, secret_id: str) -> bool:
        """Stop signing with a secret at once; False when the tenant has no such secret."""
        return bool(self.redis.hdel(keys.webhook_secrets(tenant), secret_id))


def _encode(secret: WebhookSecret) -> bytes:
    return orjson.dumps(asdict(secret))


def _decode_all(raw: Mapping[bytes | str, bytes | str]) -> list[WebhookSecret]:
    return [WebhookSecret(**orjson.loads(value)) for value in raw.values()]
