"""The keys that wrap the data keys of stored objects (`INFERQ_ENCRYPTION_KEYS`).

Envelope encryption: each object has a random 256-bit data key; the keyring's current key
wraps it (AES-256-GCM) and the object's header names which key did. Older keys stay in the
ring to unwrap what they wrapped until `inferq storage reencrypt` has moved everything on.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
NONCE_BYTES = 12


class DecryptionFailed(Exception):
    """A stored object cannot be decrypted: its key is not configured, the configured key
    with that id is another key, or the bytes were changed. Never answered with garbage."""


@dataclass(frozen=True)
class Keyring:
    """Key-encryption keys by id; `current` wraps new data keys."""

    keys: dict[str, bytes]
    current: str

    @classmethod
    def parse(cls, text: str) -> Keyring:
        """Read `kid:base64-32-bytes,kid:...` (the first encrypts); ValueError saying what
        is wrong, never echoing key material."""
        keys: dict[str, bytes] = {}
        for number, entry in enumerate(p.strip() for p in text.split(",") if p.strip()):
            kid, colon, encoded = entry.partition(":")
            if not colon or not KEY_ID.match(kid):
                raise ValueError(f"encryption key {number + 1} is not `id:base64-key`")
            if kid in keys:
                raise ValueError(f"encryption key id {kid!r} is given twice")
            keys[kid] = _key_bytes(kid, encoded)
        if not keys:
            raise ValueError("INFERQ_ENCRYPTION_KEYS names no key")
        return cls(keys, next(iter(keys)))

    def wrap(self, data_key: bytes, context: str) -> tuple[str, bytes]:
        """`data_key` wrapped by the current key for the object at `context` (its storage key:
        an object copied elsewhere in storage does not decrypt there)."""
        nonce = os.urandom(NONCE_BYTES)
        wrapped = AESGCM(self.keys[self.current]).encrypt(
            nonce, data_key, _aad(self.current, context)
        )
        return self.current, nonce + wrapped

    def unwrap(self, kid: str, wrapped: bytes, context: str) -> bytes:
        """The data key `kid` wrapped for the object at `context`; DecryptionFailed otherwise."""
        key = self.keys.get(kid)
        if key is None:
            raise DecryptionFailed(
                f"{context}: encrypted with key {kid!r}, which INFERQ_ENCRYPTION_KEYS lacks"
            )
        try:
            nonce, body = wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:]
            return AESGCM(key).decrypt(nonce, body, _aad(kid, context))
        except (InvalidTag, ValueError):
            raise DecryptionFailed(
                f"{context}: its data key does not unwrap with key {kid!r} "
                "(a different key under that id, or the object was changed or moved)"
            ) from None


def _key_bytes(kid: str, encoded: str) -> bytes:
    try:
        raw = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"encryption key {kid!r} is not valid base64") from None
    if len(raw) != 32:
        raise ValueError(f"encryption key {kid!r} has {len(raw)} bytes; AES-256 needs 32")
    return raw


def _aad(kid: str, context: str) -> bytes:
    return b"inferq data key\x00" + kid.encode() + b"\x00" + context.encode()


def new_key_text(kid: str) -> str:
    """A fresh `kid:base64` entry for INFERQ_ENCRYPTION_KEYS."""
    return f"{kid}:{base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}"
