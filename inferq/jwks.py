"""The signing keys of an OpenID Connect issuer: found by discovery, cached, refreshed when a
token names a key id the cache lacks (at most once per refresh period, so a flood of tokens
with made-up key ids cannot turn the API into a load generator against the issuer)."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt

log = logging.getLogger(__name__)
DISCOVERY_PATH = "/.well-known/openid-configuration"


class IssuerUnavailable(Exception):
    """The issuer's discovery document or JWKS could not be fetched or read, and no keys are
    known from before."""


class IssuerKeys:
    """The issuer's public keys by key id, fetched lazily and kept for `max_age_seconds`."""

    def __init__(
        self,
        issuer: str,
        *,
        refresh_seconds: float,
        max_age_seconds: float,
        timeout_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.refresh_seconds = refresh_seconds
        self.max_age_seconds = max_age_seconds
        self.timeout_seconds = timeout_seconds
        self._clock = clock
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._jwks_uri: str | None = None
        self._fetched_at = -math.inf
        self._tried_at = -math.inf
        self._lock = asyncio.Lock()
        self.fetches = 0
        """JWKS fetches made so far (for metrics and tests)."""

    async def key(self, kid: str | None) -> jwt.PyJWK | None:
        """The key `kid` (a token without `kid`: the only key), or None when the issuer has no
        such key; IssuerUnavailable when no keys could ever be fetched."""
        if self._clock() - self._fetched_at > self.max_age_seconds:
            await self._refresh()
        if not self._keys:
            raise IssuerUnavailable(f"no signing keys of {self.issuer} could be fetched yet")
        found = self._find(kid)
        if found is None:
            await self._refresh()
            found = self._find(kid)
        return found

    def _find(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid)

    async def _refresh(self) -> None:
        """Fetch the JWKS unless one was fetched moments ago; a request that comes while a
        fetch is under way waits for it rather than fetching again."""
        attempt = self._tried_at
        async with self._lock:
            if self._tried_at != attempt:
                return  # fetched while this request waited for the lock
            # Until any key is known nothing can be served: retry the issuer sooner.
            period = self.refresh_seconds if self._keys else min(self.refresh_seconds, 1.0)
            if self._clock() - self._tried_at < period:
                return
            self._tried_at = self._clock()
            try:
                self._keys = await self._fetch()
                self._fetched_at = self._tried_at
            except IssuerUnavailable as exc:
                if not self._keys:
                    raise
                log.warning("keeping the known keys of %s: %s", self.issuer, exc)

    async def _fetch(self) -> dict[str | None, jwt.PyJWK]:
        async with httpx.AsyncClient(timeout=self.timeout_seconds) as client:
            if self._jwks_uri is None:
                self._jwks_uri = await self._discover(client)
            jwks = await _get_json(client, self._jwks_uri)
        self.fetches += 1
        return usable_keys(jwks)

    async def _discover(self, client: httpx.AsyncClient) -> str:
        document = await _get_json(client, self.issuer.rstrip("/") + DISCOVERY_PATH)
        if document.get("issuer") != self.issuer:
            # OpenID Connect Discovery 1.0, section 4.3: the document must name this issuer.
            raise IssuerUnavailable(f"the discovery document names {document.get('issuer')!r}")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri:
            raise IssuerUnavailable("the discovery document has no jwks_uri")
        return jwks_uri


def usable_keys(jwks: dict[str, Any]) -> dict[str | None, jwt.PyJWK]:
    """The signature keys of a JWKS that PyJWT can use (RSA, EC P-256), by key id; others
    (encryption keys, other key types) are skipped."""
    found: dict[str | None, jwt.PyJWK] = {}
    entries = jwks.get("keys")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        try:
            found[entry.get("kid")] = jwt.PyJWK(entry)
        except jwt.PyJWTError:
            log.info("skipping a JWKS key of type %r", entry.get("kty"))
    return found


async def _get_json(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    try:
        response = await client.get(url)
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise IssuerUnavailable(f"{url}: {exc}") from exc
    if not isinstance(document, dict):
        raise IssuerUnavailable(f"{url}: not a JSON object")
    return document
