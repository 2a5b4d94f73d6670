"""The README's configuration table stays true to the settings."""

from __future__ import annotations

from pathlib import Path

from inferq.config import settings_field_docs

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_lists_every_setting_with_its_default() -> None:
    """Each INFERQ_ variable appears in the README table with its current default."""
    text = README.read_text()
    for name, default, _ in settings_field_docs():
        assert f"| `{name}` | `{default}` |" in text, f"{name} missing or stale in README.md"
