"""The bootstrap admin key `make run` hands the newcomer: from the environment or `var/`."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from inferq.api_keys import new_key

ADMIN_KEY_FILE = "admin.key"


def ensure_admin_key(var_dir: Path) -> tuple[str, Path | None]:
    """The admin key and the file it is kept in (None when INFERQ_ADMIN_KEY set it).

    Without INFERQ_ADMIN_KEY, a key is generated once into `<var_dir>/admin.key`, readable by
    its owner only, and the same key is used on every later start.
    """
    from_env = os.environ.get("INFERQ_ADMIN_KEY")
    if from_env:
        return from_env, None
    path = var_dir / ADMIN_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)  # tighten a file someone loosened
        key = path.read_text().strip()
        if key:
            return key, path
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    key = new_key()
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key, path
