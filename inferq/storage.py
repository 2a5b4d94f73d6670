"""Where inputs, results and model artifacts live: a local folder or any fsspec URL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import fsspec
from fsspec.core import url_to_fs


class Storage:
    """Files under one base URL, addressed by relative keys such as ``jobs/<id>/result.csv``."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.fs, self.root = url_to_fs(self.base_url)
        self._local = "file" in _protocols(self.fs)
        if self._local:
            self.fs.makedirs(self.root, exist_ok=True)

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
        """The bytes stored under key; FileNotFoundError when absent."""
        with self.fs.open(self.path(key), "rb") as handle:
            return handle.read()

    def open_read(self, key: str) -> IO[bytes]:
        """A binary file object reading key."""
        return self.fs.open(self.path(key), "rb")

    @contextmanager
    def open_atomic(self, key: str) -> Iterator[IO[bytes]]:
        """A binary file to write key through; it appears under key only when the block succeeds."""
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
        """The size in bytes of the file under key."""
        return int(self.fs.size(self.path(key)))

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


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def open_url(url: str, mode: str = "rb") -> Any:
    """Open any fsspec URL directly (used for `input_uri` after it passed the allow-list)."""
    return fsspec.open(url, mode)
