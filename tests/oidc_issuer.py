"""A real, small OpenID Connect issuer for tests: discovery and JWKS over HTTP on 127.0.0.1,
signing tokens with RSA and EC keys generated here."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

AUDIENCE = "inferq-test"


class SigningKey:
    """A private key with its key id and algorithm (RS256 or ES256)."""

    def __init__(self, kid: str, alg: str = "RS256") -> None:
        self.kid = kid
        self.alg = alg
        if alg == "RS256":
            self.private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())

    def public_jwk(self) -> dict[str, Any]:
        """The public half as a JWK."""
        algorithm = RSAAlgorithm if self.alg == "RS256" else ECAlgorithm
        jwk = json.loads(algorithm.to_jwk(self.private.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.alg}

    def public_pem(self) -> bytes:
        """The public half as PEM (what an attacker could read from the JWKS)."""
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


class Issuer:
    """Serves `/.well-known/openid-configuration` and `/jwks` and mints tokens."""

    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.keys = [SigningKey("k1", "RS256"), SigningKey("k2", "ES256")]
        self.jwks_requests = 0
        self._minted_keys = len(self.keys)

    @contextmanager
    def serving(self) -> Iterator[Issuer]:
        """Answer HTTP requests until the block ends."""
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
            thread.join()

    def rotate(self) -> SigningKey:
        """Replace the first key by a new one with a new key id; returns the new key."""
        self._minted_keys += 1
        new = SigningKey(f"k{self._minted_keys}", "RS256")
        self.keys[0] = new
        return new

    def claims(self, tenant: str | None, scope: str | None = "jobs:write jobs:read") -> dict:
        """Claims of a client-credentials token valid for an hour."""
        now = int(time.time())
        claims: dict[str, Any] = {"iss": self.url, "aud": AUDIENCE, "sub": "client-1"}
        claims["jti"] = secrets.token_hex(8)  # tokens minted in the same second differ
        claims.update(iat=now, nbf=now, exp=now + 3600)
        if tenant is not None:
            claims["tenant"] = tenant
        if scope is not None:
            claims["scope"] = scope
        return claims

    def token(self, claims: dict[str, Any], key: SigningKey | None = None) -> str:
        """`claims` signed by `key` (default: the first key), its kid in the header."""
        key = key or self.keys[0]
        return jwt.encode(claims, key.private, algorithm=key.alg, headers={"kid": key.kid})

    def hs256_with_public_key(self, claims: dict[str, Any]) -> str:
        """A token HMAC-signed with the first key's public PEM as the secret (the classic
        algorithm-confusion attack); PyJWT refuses to make one, so it is put together here."""
        key = self.keys[0]
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key.kid}).encode())
        body = _b64(json.dumps(claims).encode())
        mac = hmac.new(key.public_pem(), f"{header}.{body}".encode(), hashlib.sha256).digest()
        return f"{header}.{body}.{_b64(mac)}"

    def unsigned(self, claims: dict[str, Any]) -> str:
        """A token with `alg: none` and no signature."""
        header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": self.keys[0].kid}).encode())
        return f"{header}.{_b64(json.dumps(claims).encode())}."


def tampered(token: str, **changes: Any) -> str:
    """`token` with its payload changed and its signature kept."""
    header, body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims.update(changes)
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _handler(issuer: Issuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            if self.path == "/.well-known/openid-configuration":
                body = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks"}
            elif self.path == "/jwks":
                issuer.jwks_requests += 1
                body = {"keys": [key.public_jwk() for key in issuer.keys]}
            else:
                self.send_error(404)
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
            pass

    return Handler
