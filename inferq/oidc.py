"""OpenID Connect bearer tokens: a JWT signed by the configured issuer names a tenant and scopes.

A verified token is remembered until it expires, so a client that sends the same token with
every request costs one dictionary lookup per request, less than an API key's Redis read.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt

from inferq.api_keys import SCOPES
from inferq.config import Settings
from inferq.jwks import IssuerKeys, IssuerUnavailable

#: Signature algorithms accepted; `none` and HMAC (a secret shared with every client) never are.
ALGORITHMS = ("RS256", "ES256")
TENANT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
#: Verified tokens remembered at most; past it the expired ones, or else all, are forgotten.
CACHE_LIMIT = 10_000


class TokenRefused(Exception):
    """A token that does not let its bearer in: 401 (not valid), 403 (valid but names no
    tenant or scope) or 503 (the issuer's keys could not be fetched)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class TokenIdentity:
    """What a verified token grants: its tenant and inferq scopes."""

    tenant: str
    scopes: frozenset[str]


def looks_like_jwt(credential: str) -> bool:
    """Whether a bearer credential is a compact JWS (an API key never is)."""
    return credential.startswith("eyJ") and credential.count(".") == 2


class TokenVerifier:
    """Checks tokens of one issuer and audience and maps their claims to a tenant and scopes."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        assert settings.oidc_issuer and settings.oidc_audience, "OIDC is not configured"
        self.issuer = settings.oidc_issuer
        self.audience = settings.oidc_audience
        self.tenant_claim = settings.oidc_tenant_claim
        self.scope_prefix = settings.oidc_scope_prefix
        self.admin_scope = settings.oidc_admin_scope
        self.leeway = settings.oidc_leeway_seconds
        self.keys = IssuerKeys(
            self.issuer,
            refresh_seconds=settings.oidc_jwks_refresh_seconds,
            max_age_seconds=settings.oidc_jwks_max_age_seconds,
            timeout_seconds=settings.oidc_timeout_seconds,
        )
        self._clock = clock
        self._verified: dict[str, tuple[TokenIdentity, float]] = {}

    async def verify(self, token: str) -> TokenIdentity:
        """The identity a token grants, or TokenRefused."""
        cached = self._verified.get(token)
        if cached is not None and cached[1] > self._clock():
            return cached[0]
        claims = await self.checked_claims(token)
        identity = self.identity(claims)
        self._remember(token, identity, float(claims["exp"]))
        return identity

    async def checked_claims(self, token: str) -> dict[str, Any]:
        """The claims of a token whose signature, issuer, audience and times check out."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRefused(401, "the bearer token is not a well-formed JWT") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            named = str(alg)[:20]  # the caller's text: echoed short
            raise TokenRefused(401, f"tokens signed with {named!r} are not accepted (RS256, ES256)")
        try:
            key = await self.keys.key(header.get("kid"))
        except IssuerUnavailable:
            raise TokenRefused(503, "the identity provider's keys cannot be fetched") from None
        if key is None or key.algorithm_name != alg:
            raise TokenRefused(401, "the token is not signed by a key of the configured issuer")
        return self._decode(token, key, alg)

    def _decode(self, token: str, key: jwt.PyJWK, alg: str) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            detail = "the token has expired"
        except jwt.ImmatureSignatureError:
            detail = "the token is not valid yet (nbf or iat in the future)"
        except jwt.InvalidAudienceError:
            detail = f"the token is not meant for this API (aud is not {self.audience!r})"
        except jwt.InvalidIssuerError:
            detail = "the token comes from another issuer"
        except jwt.PyJWTError:
            detail = "the token's signature or claims are not valid"
        raise TokenRefused(401, detail)

    def identity(self, claims: dict[str, Any]) -> TokenIdentity:
        """The tenant and scopes named by verified claims; 403 when either is missing."""
        tenant = claims.get(self.tenant_claim)
        if not isinstance(tenant, str) or not tenant:
            raise TokenRefused(403, f"the token has no {self.tenant_claim!r} claim naming a tenant")
        if not TENANT_NAME.match(tenant):
            raise TokenRefused(
                403,
                f"the token's {self.tenant_claim!r} claim is not a tenant name "
                "(lower-case letters, digits, '-' and '_', at most 63)",
            )
        scopes = self.scopes(claims)
        if not scopes:
            granted = [self.scope_prefix + s for s in SCOPES if s != "admin" or self.admin_scope]
            raise TokenRefused(
                403, f"the token carries none of inferq's scopes in scope or scp ({granted})"
            )
        return TokenIdentity(tenant, scopes)

    def scopes(self, claims: dict[str, Any]) -> frozenset[str]:
        """inferq's scopes among `scope` (space-separated) and `scp` (a list or a string)."""
        names: list[Any] = []
        for claim in ("scope", "scp"):
            value = claims.get(claim)
            if isinstance(value, str):
                names += value.split()
            elif isinstance(value, list):
                names += value
        prefix = self.scope_prefix
        found = {
            name[len(prefix) :]
            for name in names
            if isinstance(name, str) and name.startswith(prefix)
        }
        allowed = {s for s in SCOPES if s != "admin" or self.admin_scope}
        return frozenset(found & allowed)

    def _remember(self, token: str, identity: TokenIdentity, expires: float) -> None:
        if len(self._verified) >= CACHE_LIMIT:
            now = self._clock()
            self._verified = {t: v for t, v in self._verified.items() if v[1] > now}
            if len(self._verified) >= CACHE_LIMIT:
                self._verified.clear()
        self._verified[token] = (identity, expires)


_verifiers: dict[tuple[Any, ...], TokenVerifier] = {}


def verifier_for(settings: Settings) -> TokenVerifier:
    """The process's verifier for these settings' issuer (one JWKS cache and token cache)."""
    fields = tuple(getattr(settings, name) for name in Settings.model_fields if "oidc" in name)
    verifier = _verifiers.get(fields)
    if verifier is None:
        verifier = _verifiers[fields] = TokenVerifier(settings)
    return verifier
