"""Encrypted stored objects: AES-256-GCM in segments, readable from any offset.

Layout: `MAGIC`, a 2-byte header length, a JSON header (key id, wrapped data key, segment
size), then the segments. Each segment is up to `segment` plaintext bytes encrypted with the
object's data key and a nonce made of the segment's index and a flag marking the last one (the
STREAM construction), so segments cannot be reordered, dropped or cut off unnoticed. A writer
holds one segment in memory, a reader one segment: a 10 GB upload never sits in memory, and a
Parquet reader can seek to the row groups it wants.
"""

from __future__ import annotations

import base64
import io
import json
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from inferq.keyring import DecryptionFailed, Keyring

MAGIC = b"\x89IQE\r\n\x1a\n"  # no CSV, JSON, Parquet or zip (skops) file starts like this
SEGMENT_BYTES = 256 * 1024
TAG_BYTES = 16


def segment_nonce(index: int, last: bool) -> bytes:
    """The nonce of segment `index`: unique per object, and the last segment's differs."""
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def encode_header(kid: str, wrapped: bytes, segment: int) -> bytes:
    """`MAGIC`, the header's length and the header itself."""
    header = json.dumps(
        {"v": 1, "kid": kid, "key": base64.b64encode(wrapped).decode(), "segment": segment}
    ).encode()
    return MAGIC + len(header).to_bytes(2, "big") + header


def read_header(raw: IO[bytes], context: str) -> dict[str, Any]:
    """The header of an object whose `MAGIC` was just read from `raw`."""
    try:
        size = int.from_bytes(_read_exactly(raw, 2), "big")
        header = json.loads(_read_exactly(raw, size))
        header["wrapped"] = base64.b64decode(header["key"])
        header["length"] = 8 + 2 + size
        if header["v"] != 1 or not isinstance(header["kid"], str) or header["segment"] <= 0:
            raise ValueError("unknown header version")
    except (ValueError, KeyError, TypeError) as exc:
        raise DecryptionFailed(f"{context}: the encryption header is damaged ({exc})") from None
    return header


class EncryptingWriter(io.RawIOBase):
    """Writes plaintext to `raw` as a sealed object; `finish()` writes the last segment."""

    def __init__(self, raw: IO[bytes], keyring: Keyring, context: str) -> None:
        super().__init__()
        self.raw = raw
        data_key = AESGCM.generate_key(bit_length=256)
        self._aead = AESGCM(data_key)
        kid, wrapped = keyring.wrap(data_key, context)
        raw.write(encode_header(kid, wrapped, SEGMENT_BYTES))
        self._buffer = bytearray()
        self._index = 0
        self._written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._buffer += data
        size = len(data) if isinstance(data, bytes | bytearray) else memoryview(data).nbytes
        self._written += size
        # A full segment is sealed only once more bytes follow: the last one is marked so.
        while len(self._buffer) > SEGMENT_BYTES:
            self._seal(bytes(self._buffer[:SEGMENT_BYTES]), last=False)
            del self._buffer[:SEGMENT_BYTES]
        return size

    def tell(self) -> int:
        return self._written

    def finish(self) -> None:
        """Seal the buffered bytes as the last segment (an empty object has one, empty)."""
        self._seal(bytes(self._buffer), last=True)
        self._buffer.clear()

    def close(self) -> None:
        # The storage layer closes `raw` after `finish()`; a library closing its sink early
        # (pyarrow does) must not cut the object short.
        super().close()

    def _seal(self, plaintext: bytes, last: bool) -> None:
        self.raw.write(self._aead.encrypt(segment_nonce(self._index, last), plaintext, None))
        self._index += 1


class DecryptingReader(io.RawIOBase):
    """The plaintext of a sealed object, seekable; a segment that fails its check raises
    DecryptionFailed instead of giving bytes."""

    def __init__(self, raw: IO[bytes], size: int, keyring: Keyring | None, context: str) -> None:
        super().__init__()
        self.raw = raw
        self.context = context
        header = read_header(raw, context)
        if keyring is None:
            raise DecryptionFailed(
                f"{context}: encrypted with key {header['kid']!r}, "
                "but INFERQ_ENCRYPTION_KEYS is not set"
            )
        self.kid: str = header["kid"]
        self.wrapped: bytes = header["wrapped"]
        self._aead = AESGCM(keyring.unwrap(self.kid, self.wrapped, context))
        self._start = header["length"]
        self._segment = header["segment"]
        sealed = size - self._start
        self._count = max(1, -(-sealed // (self._segment + TAG_BYTES)))
        self.length = sealed - self._count * TAG_BYTES
        if self.length < 0:
            raise DecryptionFailed(f"{context}: the object is cut short")
        self._pos = 0
        self._cached: tuple[int, bytes] = (-1, b"")

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.length}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        end = self.length if size is None or size < 0 else min(self.length, self._pos + size)
        pieces = []
        while self._pos < end:
            index, offset = divmod(self._pos, self._segment)
            piece = self._plaintext(index)[offset : offset + end - self._pos]
            pieces.append(piece)
            self._pos += len(piece)
        return b"".join(pieces)

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.raw.close()
        super().close()

    def _plaintext(self, index: int) -> bytes:
        if self._cached[0] == index:
            return self._cached[1]
        self.raw.seek(self._start + index * (self._segment + TAG_BYTES))
        sealed = _read_exactly(self.raw, min(self._segment + TAG_BYTES, self._remaining(index)))
        last = index == self._count - 1
        try:
            plaintext = self._aead.decrypt(segment_nonce(index, last), sealed, None)
        except InvalidTag:
            raise DecryptionFailed(
                f"{self.context}: segment {index} fails its check (changed or cut short)"
            ) from None
        self._cached = (index, plaintext)
        return plaintext

    def _remaining(self, index: int) -> int:
        return self.length + self._count * TAG_BYTES - index * (self._segment + TAG_BYTES)


def open_sealed(raw: IO[bytes], keyring: Keyring | None, context: str) -> IO[bytes]:
    """A reader of a stored object's plaintext: decrypted if it is sealed, else `raw` as it
    is (written before encryption was turned on; `inferq storage reencrypt` seals it)."""
    head = raw.read(len(MAGIC))
    if head == MAGIC:
        try:
            size = raw.seek(0, io.SEEK_END)
            raw.seek(len(MAGIC))
            return DecryptingReader(raw, size, keyring, context)  # type: ignore[return-value]
        except BaseException:
            raw.close()
            raise
    raw.seek(0)
    return raw


def _read_exactly(raw: IO[bytes], size: int) -> bytes:
    data = raw.read(size)
    while len(data) < size:
        more = raw.read(size - len(data))
        if not more:
            raise DecryptionFailed("the object is cut short")
        data += more
    return data
