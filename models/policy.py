"""Who may upload what: unsafe formats and shared models are for admins; skops trust is explicit."""

from __future__ import annotations

import re
from collections.abc import Collection

from models.artifacts import UNSAFE_FORMATS, untrusted_types

#: Model names: letters, digits, `_`, `-` and `.`; no `@` (it separates versions and aliases).
MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
ALIAS_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


class UploadForbidden(PermissionError):
    """The caller's scopes do not allow this upload (403)."""


class UntrustedTypes(ValueError):
    """A skops artifact holds types the uploader did not name in `trusted_types` (422)."""

    def __init__(self, types: list[str]) -> None:
        super().__init__(
            "the artifact holds types skops does not trust by default; name each in "
            f"trusted_types if you trust it: {', '.join(types)}"
        )
        self.types = types


def check_upload_allowed(fmt: str, shared: bool, scopes: Collection[str]) -> None:
    """Refuse joblib/pickle and `shared=true` unless the caller is an admin."""
    if "admin" in scopes:
        return
    if fmt in UNSAFE_FORMATS:
        raise UploadForbidden(
            f"the {fmt} format runs code when loaded; only an admin key may upload it "
            "(use skops, naming any types you trust)"
        )
    if shared:
        raise UploadForbidden("only an admin key may upload a model shared with every tenant")


def check_trusted(data: bytes, trusted_types: Collection[str]) -> None:
    """Raise UntrustedTypes naming every untrusted type in a skops file not in `trusted_types`."""
    missing = [name for name in untrusted_types(data) if name not in set(trusted_types)]
    if missing:
        raise UntrustedTypes(missing)
