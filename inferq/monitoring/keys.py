"""Redis layout of model monitoring, all under ``inferq:monitor:`` (see docs/monitoring.md)."""

from __future__ import annotations

PREFIX = "inferq:monitor"

CONFIG = f"{PREFIX}:config"
"""Hash of model name to its monitoring settings (JSON: thresholds and webhook)."""

PSI_GAUGES = f"{PREFIX}:psi"
"""Hash of ``model|version|feature`` to the last PSI the sweep computed (``@prediction``)."""

CHECK_LOCK = f"{PREFIX}:check"
"""Held by the one worker process that runs the drift check this period."""


def _version(name: str, version: int) -> str:
    return f"{PREFIX}:{name}:{version}"


def reference(name: str, version: int) -> str:
    """The version's reference profile (JSON)."""
    return f"{_version(name, version)}:ref"


def reference_predictions(name: str, version: int, ref_id: str) -> str:
    """The prediction profile of one reference (JSON), built by the first worker to need it."""
    return f"{_version(name, version)}:ref:{ref_id}:predictions"


def reference_sample(name: str, version: int, ref_id: str) -> str:
    """Up to 10,000 rows of a reference's features (JSON columns), scored for its predictions."""
    return f"{_version(name, version)}:ref:{ref_id}:sample"


def provisional_rows(name: str, version: int) -> str:
    """Rows collected so far for a provisional reference."""
    return f"{_version(name, version)}:provisional:rows"


def provisional_sample(name: str, version: int) -> str:
    """List of JSON column blocks of the rows scored before any reference existed."""
    return f"{_version(name, version)}:provisional:sample"


def provisional_lease(name: str, version: int) -> str:
    """Held (60 s) by the worker building the provisional reference from a complete sample."""
    return f"{_version(name, version)}:provisional:lease"


def bucket(name: str, version: int, ref_id: str, minute: int) -> str:
    """One minute's serving counts against one reference: field ``feature|bin`` to rows."""
    return f"{_version(name, version)}:{ref_id}:m:{minute}"


def alerted(name: str, version: int, window: str, start: int) -> str:
    """Set once a drift webhook went out for this version in the window starting at `start`."""
    return f"{_version(name, version)}:alerted:{window}:{start}"
