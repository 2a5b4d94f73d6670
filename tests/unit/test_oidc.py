"""OIDC token checks against a real local issuer, in process: scopes, key rotation, the JWKS
refresh limit and the cache of verified tokens."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from inferq.config import Settings
from inferq.oidc import TokenIdentity, TokenRefused, TokenVerifier, looks_like_jwt
from tests.oidc_issuer import AUDIENCE, Issuer


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    """A local issuer answering discovery and JWKS."""
    issuer = Issuer()
    with issuer.serving():
        yield issuer


def verifier(issuer: Issuer, **settings: Any) -> TokenVerifier:
    """A verifier of `issuer`'s tokens (JWKS refreshed at once on an unknown kid by default)."""
    values = {"oidc_issuer": issuer.url, "oidc_audience": AUDIENCE, "oidc_jwks_refresh_seconds": 0}
    return TokenVerifier(Settings(**{**values, **settings}))


def verify(check: TokenVerifier, token: str) -> TokenIdentity:
    """`check.verify(token)` run to completion."""
    return asyncio.run(check.verify(token))


def refusal(check: TokenVerifier, token: str) -> TokenRefused:
    """The TokenRefused that `token` gets."""
    with pytest.raises(TokenRefused) as refused:
        verify(check, token)
    return refused.value


def test_rs256_and_es256_tokens_name_their_tenant_and_scopes(issuer: Issuer) -> None:
    """A token signed by either of the issuer's keys grants its tenant claim and scopes."""
    check = verifier(issuer)
    for key in issuer.keys:
        token = issuer.token(issuer.claims("acme", "jobs:read openid"), key)
        assert looks_like_jwt(token)
        assert verify(check, token) == TokenIdentity("acme", frozenset({"jobs:read"}))


def test_scp_lists_and_prefixed_scopes_map_to_inferq_scopes(issuer: Issuer) -> None:
    """`scp` as a list and scopes behind the configured prefix count; `admin` only if allowed."""
    claims = {**issuer.claims("acme", None), "scp": ["inferq/jobs:write", "inferq/admin", "x"]}
    token = issuer.token(claims)
    assert verify(verifier(issuer, oidc_scope_prefix="inferq/"), token).scopes == {"jobs:write"}
    allowed = verifier(issuer, oidc_scope_prefix="inferq/", oidc_admin_scope=True)
    assert verify(allowed, token).scopes == {"jobs:write", "admin"}
    assert refusal(verifier(issuer), token).status == 403


def test_a_token_without_tenant_or_scopes_is_forbidden_with_a_reason(issuer: Issuer) -> None:
    """No tenant claim, a tenant that is no tenant name, or no inferq scope: 403 saying which."""
    check = verifier(issuer)
    no_tenant = refusal(check, issuer.token(issuer.claims(None)))
    assert no_tenant.status == 403 and "no 'tenant' claim" in no_tenant.detail
    bad_name = refusal(check, issuer.token(issuer.claims("Acme Corp")))
    assert bad_name.status == 403 and "not a tenant name" in bad_name.detail
    no_scope = refusal(check, issuer.token(issuer.claims("acme", "openid profile")))
    assert no_scope.status == 403 and "none of inferq's scopes" in no_scope.detail


def test_times_are_checked_with_the_leeway(issuer: Issuer) -> None:
    """A token not valid for an hour yet, or expired an hour ago, is refused; one expired
    within the leeway is accepted."""
    check = verifier(issuer, oidc_leeway_seconds=30)
    now = int(time.time())
    early = issuer.token({**issuer.claims("acme"), "nbf": now + 3600, "iat": now + 3600})
    assert "not valid yet" in refusal(check, early).detail
    late = issuer.token({**issuer.claims("acme"), "exp": now - 3600})
    assert "expired" in refusal(check, late).detail
    just = issuer.token({**issuer.claims("acme"), "exp": now - 5})
    assert verify(check, just).tenant == "acme"


def test_a_rotated_key_is_fetched_and_the_removed_one_refused(issuer: Issuer) -> None:
    """After rotation at the issuer, tokens of the new key are accepted (the JWKS is fetched
    again for the unknown kid) and fresh tokens of the removed key are refused."""
    check = verifier(issuer)
    old_key = issuer.keys[0]
    assert verify(check, issuer.token(issuer.claims("acme"))).tenant == "acme"
    new_key = issuer.rotate()
    assert verify(check, issuer.token(issuer.claims("beta"), new_key)).tenant == "beta"
    refused = refusal(check, issuer.token(issuer.claims("acme"), old_key))
    assert refused.status == 401 and "not signed by a key" in refused.detail


def test_unknown_key_ids_fetch_the_jwks_at_most_once_per_period(issuer: Issuer) -> None:
    """A burst of tokens with unknown key ids causes no JWKS fetch within the refresh period."""
    check = verifier(issuer, oidc_jwks_refresh_seconds=3600)
    assert verify(check, issuer.token(issuer.claims("acme"))).tenant == "acme"
    fetched = issuer.jwks_requests
    new_key = issuer.rotate()
    for _ in range(20):
        assert refusal(check, issuer.token(issuer.claims("acme"), new_key)).status == 401
    assert issuer.jwks_requests == fetched == 1


def test_requests_arriving_during_the_first_fetch_wait_for_it(issuer: Issuer) -> None:
    """Many first requests at once are all verified, with one discovery and one JWKS fetch."""
    check = verifier(issuer, oidc_jwks_refresh_seconds=3600)
    tokens = [issuer.token(issuer.claims(f"t{i}")) for i in range(20)]

    async def all_at_once() -> list[TokenIdentity]:
        return await asyncio.gather(*(check.verify(token) for token in tokens))

    assert [found.tenant for found in asyncio.run(all_at_once())] == [f"t{i}" for i in range(20)]
    assert issuer.jwks_requests == 1


def test_a_verified_token_is_remembered_until_it_expires(issuer: Issuer) -> None:
    """A token once verified is accepted from the cache even after its key left the JWKS;
    a token of that key not seen before is refused."""
    check = verifier(issuer)
    old_key = issuer.keys[0]
    seen = issuer.token(issuer.claims("acme"))
    assert verify(check, seen).tenant == "acme"
    issuer.rotate()
    assert verify(check, issuer.token(issuer.claims("acme"))).tenant == "acme"  # refetched
    assert verify(check, seen).tenant == "acme"
    assert refusal(check, issuer.token(issuer.claims("acme"), old_key)).status == 401


def test_an_unreachable_issuer_is_a_503_not_a_401(issuer: Issuer) -> None:
    """Without any keys fetched, the caller is told to retry rather than that its token is bad."""
    check = verifier(issuer, oidc_issuer="http://127.0.0.1:9/")
    token = issuer.token({**issuer.claims("acme"), "iss": "http://127.0.0.1:9/"})
    refused = refusal(check, token)
    assert refused.status == 503 and "cannot be fetched" in refused.detail


def test_the_issuer_needs_an_audience() -> None:
    """Settings with an issuer but no audience are refused at start."""
    with pytest.raises(ValueError, match="INFERQ_OIDC_AUDIENCE"):
        Settings(oidc_issuer="https://login.example.com/")
