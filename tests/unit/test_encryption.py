"""Sealed storage objects: round trips, seeking, tampering, the keyring, rotation and
`reencrypt`, on a real local folder."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from pathlib import Path

import pytest

from inferq.config import Settings
from inferq.keyring import DecryptionFailed, Keyring, new_key_text
from inferq.reencrypt import Progress, reencrypt
from inferq.sealed import MAGIC, SEGMENT_BYTES, TAG_BYTES
from inferq.storage import Storage

K1, K2 = new_key_text("k1"), new_key_text("k2")
SIZES = [0, 1, SEGMENT_BYTES - 1, SEGMENT_BYTES, SEGMENT_BYTES + 1, 3 * SEGMENT_BYTES + 77]


def storage(folder: Path, keys: str | None) -> Storage:
    """Storage in `folder` with the keyring `keys` (None: no encryption)."""
    found = Storage(folder.as_uri(), Keyring.parse(keys) if keys else None)
    found.record_current_key()
    return found


def on_disk(store: Storage, key: str) -> bytes:
    """The stored bytes of an object, as anyone reading the folder sees them."""
    return Path(store.path(key)).read_bytes()


@pytest.mark.parametrize("size", SIZES)
def test_objects_round_trip_and_are_not_stored_in_clear(tmp_path: Path, size: int) -> None:
    """What is written reads back the same, whole or from any offset; the disk holds only
    the header and ciphertext."""
    store = storage(tmp_path, K1)
    data = os.urandom(size)
    store.write_bytes("jobs/j/part", data)
    assert store.read_bytes("jobs/j/part") == data
    assert store.size("jobs/j/part") == size
    with store.open_read("jobs/j/part") as handle:
        for offset in (0, size // 3, max(0, size - 5)):
            handle.seek(offset)
            assert handle.read(SEGMENT_BYTES + 9) == data[offset : offset + SEGMENT_BYTES + 9]
    raw = on_disk(store, "jobs/j/part")
    assert raw.startswith(MAGIC)
    assert size < 32 or data[:32] not in raw and data[-32:] not in raw


def test_large_objects_stream_through_in_constant_memory(tmp_path: Path) -> None:
    """Writing and reading 32 MiB in 1 MiB pieces never holds more than a few segments."""
    store = storage(tmp_path, K1)
    piece = os.urandom(1024 * 1024)
    written, read = hashlib.sha256(), hashlib.sha256()
    tracemalloc.start()
    try:
        with store.open_atomic("big") as handle:
            for _ in range(32):
                handle.write(piece)
                written.update(piece)
        with store.open_read("big") as handle:
            while data := handle.read(1024 * 1024):
                read.update(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert read.hexdigest() == written.hexdigest()
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes"


def test_changed_bytes_are_detected_never_returned(tmp_path: Path) -> None:
    """A flipped ciphertext byte, a dropped last segment or a moved object fail to read."""
    store = storage(tmp_path, K1)
    data = os.urandom(2 * SEGMENT_BYTES + 10)
    for key in ("a", "b", "c"):
        store.write_bytes(key, data)
    path = Path(store.path("a"))
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 4] ^= 1  # inside segment 0
    path.write_bytes(raw)
    with pytest.raises(DecryptionFailed, match="segment 0 fails its check"):
        store.read_bytes("a")
    path = Path(store.path("b"))
    path.write_bytes(path.read_bytes()[: -(10 + TAG_BYTES)])  # cut at a segment boundary
    with pytest.raises(DecryptionFailed, match="fails its check"):
        store.read_bytes("b")
    Path(store.path("moved")).write_bytes(on_disk(store, "c"))
    with pytest.raises(DecryptionFailed, match="does not unwrap"):
        store.read_bytes("moved")


def test_a_missing_or_different_key_fails_loudly(tmp_path: Path) -> None:
    """Reading with no keys, without the object's key, or with another key under its id fails
    with a reason; readiness reports the same before any read."""
    storage(tmp_path, K1).write_bytes("x", b"secret,rows\n1,2\n")
    for keys, reason in [
        (None, "INFERQ_ENCRYPTION_KEYS is not set"),
        (K2, "lacks"),
        (new_key_text("k1"), "does not unwrap with key 'k1'"),
    ]:
        store = Storage(tmp_path.as_uri(), Keyring.parse(keys) if keys else None)
        with pytest.raises(DecryptionFailed, match=reason):
            store.read_bytes("x")
        assert store.key_problem() is not None
    assert storage(tmp_path, f"{K2},{K1}").key_problem() is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("k1", "not `id:base64-key`"),
        ("k1:not base64!", "not valid base64"),
        ("k1:AAAA", "has 3 bytes"),
        (f"{K1},{K1}", "given twice"),
        (" , ", "names no key"),
    ],
)
def test_a_malformed_key_list_is_refused_without_echoing_keys(text: str, reason: str) -> None:
    """Each mistake in INFERQ_ENCRYPTION_KEYS is named; no key material is in the message."""
    with pytest.raises(ValueError, match=reason) as refused:
        Keyring.parse(text)
    assert K1.split(":")[1] not in str(refused.value)


def test_settings_with_a_bad_key_list_fail_without_showing_it() -> None:
    """A malformed INFERQ_ENCRYPTION_KEYS stops the settings with the reason, not the value."""
    secret = "k1:c2VjcmV0LXNob3J0"
    with pytest.raises(ValueError, match="has 12 bytes") as refused:
        Settings(encryption_keys=secret)
    assert "c2VjcmV0" not in str(refused.value)


def test_rotation_keeps_old_objects_readable_and_reencrypt_moves_them(tmp_path: Path) -> None:
    """After rotation old objects still read; `reencrypt` rewraps them, seals objects stored
    in clear, can be run again, and retires the old key's check."""
    Storage(tmp_path.as_uri()).write_bytes("plain.csv", b"a,b\n1,2\n")
    old = storage(tmp_path, K1)
    old.write_bytes("old.bin", b"old" * 100_000)
    rotated = storage(tmp_path, f"{K2},{K1}")
    rotated.write_bytes("new.bin", b"new")
    assert rotated.read_bytes("old.bin") == b"old" * 100_000
    seen: list[str] = []
    first = reencrypt(rotated, lambda progress: seen.append(progress.line()))
    assert (first.rewrapped, first.sealed, first.current, first.failed) == (1, 1, 1, [])
    assert seen[-1].startswith("3/3 objects")
    again = reencrypt(rotated, lambda progress: None)
    assert (again.current, again.done) == (3, 3)
    only_new = storage(tmp_path, K2)
    assert only_new.key_problem() is None
    assert only_new.read_bytes("old.bin") == b"old" * 100_000
    assert only_new.read_bytes("plain.csv") == b"a,b\n1,2\n"
    assert b"a,b" not in on_disk(only_new, "plain.csv")


def test_reencrypt_reports_objects_it_cannot_move_and_keeps_the_old_key(tmp_path: Path) -> None:
    """An object that does not decrypt is listed as failed, and the old key stays required."""
    storage(tmp_path, K1).write_bytes("old.bin", b"x" * 10)
    path = tmp_path / "old.bin"
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 1
    path.write_bytes(raw)  # the header still unwraps; rewrapping does not read the segments
    Path(tmp_path / "lost.bin").write_bytes(MAGIC + b"\x00\x02{}")
    progress: Progress = reencrypt(storage(tmp_path, f"{K2},{K1}"), lambda _: None)
    assert len(progress.failed) == 1 and progress.failed[0].startswith("lost.bin")
    assert "lacks" in (storage(tmp_path, K2).key_problem() or "")
