"""The bootstrap admin key `make run` generates and announces."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from inferq.admin_key import ensure_admin_key
from inferq.config import Settings
from inferq.launcher import banner


def test_a_generated_key_is_kept_owner_only_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without INFERQ_ADMIN_KEY a key is written once with mode 0600 and read back later."""
    monkeypatch.delenv("INFERQ_ADMIN_KEY", raising=False)
    key, path = ensure_admin_key(tmp_path)
    assert path == tmp_path / "admin.key" and key.startswith("iqk_")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    assert ensure_admin_key(tmp_path) == (key, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_environment_key_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """INFERQ_ADMIN_KEY is used as is and nothing is written."""
    monkeypatch.setenv("INFERQ_ADMIN_KEY", "iqk_from_env")
    assert ensure_admin_key(tmp_path) == ("iqk_from_env", None)
    assert not (tmp_path / "admin.key").exists()


def test_the_banner_tells_which_key_to_use(tmp_path: Path) -> None:
    """The banner names the key file, exports the key, sends it in every curl example and links
    the dashboard with it in the #fragment (an environment key is never printed)."""
    settings = Settings(admin_key="iqk_generated", redis_url="redis://127.0.0.1:1")
    text = banner(settings, tmp_path / "admin.key")
    assert "export INFERQ_API_KEY=iqk_generated" in text and str(tmp_path) in text
    assert text.count('Authorization: Bearer $INFERQ_API_KEY"') == 3
    assert "/ui/#key=iqk_generated" in text
    from_env = banner(settings, None)
    assert "iqk_generated" not in from_env and "export INFERQ_API_KEY=$INFERQ_ADMIN_KEY" in from_env
    assert "/ui/  (paste $INFERQ_ADMIN_KEY" in from_env
    assert "Bearer" not in banner(settings.model_copy(update={"auth_enabled": False}))
