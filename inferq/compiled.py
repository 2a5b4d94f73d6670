"""numba compilation with the machine code cached on disk where the package can write.

Loops that NumPy cannot express without temporaries (tree walks, binning) are compiled once per
machine: the cache lives next to the module, or under the user's cache folder when that one is
read-only, and a process that can write neither compiles for itself.
"""

from __future__ import annotations

from typing import Any

import numba


def compiled(function: Any = None, **options: Any) -> Any:
    """`numba.njit(cache=True, **options)`, falling back to no cache; usable bare or with
    options (`@compiled(nogil=True)`)."""
    if function is None:
        return lambda inner: compiled(inner, **options)
    try:
        return numba.njit(cache=True, **options)(function)
    except RuntimeError:  # nowhere writable to cache: compile in each process instead
        return numba.njit(**options)(function)
