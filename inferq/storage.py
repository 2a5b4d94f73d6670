"""Where inputs, results and model artifacts live: a local folder or any fsspec URL.

With a keyring (`INFERQ_ENCRYPTION_KEYS`) every object written is sealed (`inferq.sealed`) and
reads decrypt transparently; objects written before encryption was turned on read as they are.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

import fsspec
from fsspec.core import url_to_fs

from inferq.keyring import DecryptionFailed, Keyring
from inferq.sealed import EncryptingWriter, open_sealed

if TYPE_CHECKING:
    from inferq.config import Settings

#: Opens a URL for reading (a context manager giving a binary file).
Opener = Callable[[str], Any]

#: Where each key id leaves a small object sealed with it: readiness finds a key missing or
#: replaced by another under the same id before any job does.
KEY_CHECKS = "_inferq/keys"
_KEY_CHECK_TEXT = b"inferq key check"
_UNSET = "INFERQ_ENCRYPTION_KEYS is not set"
_LACKS = "INFERQ_ENCRYPTION_KEYS lacks those keys"


class Storage:
    """Files under one base URL, addressed by relative keys such as ``jobs/<id>/result.csv``."""

    def __init__(self, base_url: str, keyring: Keyring | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.fs, self.root = url_to_fs(self.base_url)
        self.keyring = keyring
        self._local = "file" in _protocols(self.fs)
        if self._local:
            self.fs.makedirs(self.root, exist_ok=True)

    @classmethod
    def from_settings(cls, settings: Settings) -> Storage:
        """The configured storage, sealing what it writes when encryption keys are set."""
        storage = cls(settings.data_url, settings.keyring)
        storage.record_current_key()
        return storage

    def path(self, key: str) -> str:
        """The filesystem path of a key (inside the base)."""
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"storage keys are relative and stay inside the base: {key!r}")
        return f"{self.root}/{key}"

    def url(self, key: str) -> str:
        """The full URL of a key, for processes that open it with fsspec themselves."""
        return f"{self.base_url}/{key}"

    def write_bytes(self, key: str, data: bytes) -> None:
        """Store data under key atomically: readers see the old file or the new, never a part."""
        with self.open_atomic(key) as handle:
            handle.write(data)

    def read_bytes(self, key: str) -> bytes:
        """The bytes stored under key (decrypted); FileNotFoundError when absent,
        DecryptionFailed when they cannot be decrypted."""
        with self.open_read(key) as handle:
            return handle.read()

    def open_read(self, key: str) -> IO[bytes]:
        """A seekable binary file object reading key's plaintext."""
        return open_sealed(self.fs.open(self.path(key), "rb"), self.keyring, key)

    def open_url(self, url: str) -> IO[bytes]:
        """Open a URL for reading: inside this storage as `open_read` does, else as it is."""
        prefix = self.base_url + "/"
        if url.startswith(prefix):
            return self.open_read(url[len(prefix) :])
        return open_url(url).open()

    @contextmanager
    def open_atomic(self, key: str) -> Iterator[IO[bytes]]:
        """A binary file to write key through (sealing it when encryption is on); it appears
        under key only when the block succeeds."""
        with self.open_atomic_raw(key) as raw:
            if self.keyring is None:
                yield raw
                return
            writer = EncryptingWriter(raw, self.keyring, key)
            yield writer  # type: ignore[misc]
            writer.finish()

    @contextmanager
    def open_atomic_raw(self, key: str) -> Iterator[IO[bytes]]:
        """`open_atomic` writing the bytes as they are (for objects already sealed)."""
        final = self.path(key)
        parent = final.rsplit("/", 1)[0]
        if self._local:
            self.fs.makedirs(parent, exist_ok=True)
        if not self._local:
            # Object stores publish an object only when its upload completes: already atomic.
            with self.fs.open(final, "wb") as handle:
                yield handle
            return
        temp = f"{parent}/.tmp-{uuid.uuid4().hex}"
        try:
            with self.fs.open(temp, "wb") as handle:
                yield handle
            self.fs.mv(temp, final)
        finally:
            if self.fs.exists(temp):
                self.fs.rm(temp)

    def exists(self, key: str) -> bool:
        """Whether key holds a file."""
        return bool(self.fs.exists(self.path(key)))

    def size(self, key: str) -> int:
        """The size in bytes of the file under key (of its plaintext)."""
        with self.open_read(key) as handle:
            return int(handle.seek(0, 2))

    def delete_prefix(self, prefix: str) -> None:
        """Remove every file under prefix (a folder-like key); absent is fine."""
        target = self.path(prefix)
        if self.fs.exists(target):
            self.fs.rm(target, recursive=True)

    def list_prefix(self, prefix: str) -> list[str]:
        """Keys of the files directly under prefix, sorted."""
        target = self.path(prefix)
        if not self.fs.exists(target):
            return []
        root = f"{self.root}/"
        names = sorted(self.fs.ls(target, detail=False))
        return [name[len(root) :] if name.startswith(root) else name for name in names]

    def record_current_key(self) -> None:
        """Leave the current key's check object unless it is there (see `KEY_CHECKS`)."""
        if self.keyring is None:
            return
        key = f"{KEY_CHECKS}/{self.keyring.current}"
        if not self.exists(key):
            self.write_bytes(key, _KEY_CHECK_TEXT)

    def key_problem(self) -> str | None:
        """Why stored objects may not decrypt with the configured keys, or None: a key that
        sealed objects is not configured, the key under its id is another key, or storage
        cannot be read at all."""
        try:
            used = [name.rsplit("/", 1)[-1] for name in self.list_prefix(KEY_CHECKS)]
        except OSError as exc:
            return f"storage cannot be read: {exc}"
        if self.keyring is None:
            return f"storage holds objects encrypted with {used}; {_UNSET}" if used else None
        missing = [kid for kid in used if kid not in self.keyring.keys]
        if missing:
            return f"storage holds objects encrypted with {missing}; {_LACKS}"
        for kid in used:
            try:
                self.read_bytes(f"{KEY_CHECKS}/{kid}")
            except (DecryptionFailed, OSError) as exc:
                return str(exc)
        return None


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def open_url(url: str, mode: str = "rb") -> Any:
    """Open any fsspec URL directly (used for `input_uri` after it passed the allow-list)."""
    return fsspec.open(url, mode)
