"""Moving every stored object to the current encryption key (`inferq storage reencrypt`).

An object sealed by an older key gets its data key rewrapped: a new header, the same
segments copied as they are, never decrypted. An object stored before encryption was turned on
is sealed. An object already under the current key is left alone, so a run that was stopped
is resumed by running it again. Only when every object moved are the check objects of the old
keys removed: from then on `/readyz` no longer needs the old keys.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from inferq.keyring import DecryptionFailed, Keyring
from inferq.sealed import MAGIC, encode_header, read_header
from inferq.storage import KEY_CHECKS, Storage

COPY_BYTES = 1024 * 1024


@dataclass
class Progress:
    """Objects seen so far by what was done with them."""

    total: int
    rewrapped: int = 0
    sealed: int = 0
    current: int = 0
    failed: list[str] = field(default_factory=list)

    @property
    def done(self) -> int:
        """Objects handled, whatever the outcome."""
        return self.rewrapped + self.sealed + self.current + len(self.failed)

    def line(self) -> str:
        """One line for the terminal."""
        return (
            f"{self.done}/{self.total} objects: {self.rewrapped} rewrapped, {self.sealed} "
            f"sealed, {self.current} already current, {len(self.failed)} failed"
        )


def stored_keys(storage: Storage) -> Iterator[str]:
    """Every object's key, the key check objects and half-written temporary files left out."""
    root = storage.root.rstrip("/") + "/"
    for path in sorted(storage.fs.find(storage.root)):
        key = path[len(root) :] if path.startswith(root) else path
        if key.startswith(KEY_CHECKS + "/") or key.rsplit("/", 1)[-1].startswith(".tmp-"):
            continue
        yield key


def reencrypt(storage: Storage, report: Callable[[Progress], None]) -> Progress:
    """Move every object to the current key, calling `report` after each one."""
    keyring = storage.keyring
    if keyring is None:
        raise ValueError("INFERQ_ENCRYPTION_KEYS is not set: there is no key to move to")
    keys = list(stored_keys(storage))
    progress = Progress(total=len(keys))
    for key in keys:
        try:
            outcome = move_object(storage, keyring, key)
        except (DecryptionFailed, FileNotFoundError) as exc:
            progress.failed.append(f"{key}: {exc}")
        else:
            setattr(progress, outcome, getattr(progress, outcome) + 1)
        report(progress)
    if not progress.failed:
        _retire_old_keys(storage, keyring)
    return progress


def move_object(storage: Storage, keyring: Keyring, key: str) -> str:
    """Put one object under the current key; says which of `Progress`'s counts it adds to."""
    with storage.fs.open(storage.path(key), "rb") as raw:
        if raw.read(len(MAGIC)) != MAGIC:
            _seal(storage, key)
            return "sealed"
        header = read_header(raw, key)
        if header["kid"] == keyring.current:
            return "current"
        data_key = keyring.unwrap(header["kid"], header["wrapped"], key)
        kid, wrapped = keyring.wrap(data_key, key)
        with storage.open_atomic_raw(key) as out:
            out.write(encode_header(kid, wrapped, header["segment"]))
            shutil.copyfileobj(raw, out, COPY_BYTES)
    return "rewrapped"


def _seal(storage: Storage, key: str) -> None:
    with storage.open_read(key) as plain, storage.open_atomic(key) as out:
        shutil.copyfileobj(plain, out, COPY_BYTES)


def _retire_old_keys(storage: Storage, keyring: Keyring) -> None:
    storage.record_current_key()
    for name in storage.list_prefix(KEY_CHECKS):
        if name.rsplit("/", 1)[-1] != keyring.current:
            storage.fs.rm(storage.path(name))
