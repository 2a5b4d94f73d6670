"""The dashboard: static files served at /ui (plain HTML, JS and CSS; no build step)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from inferq.config import Settings

SHIPPED_WEB_DIR = Path(__file__).resolve().parents[2] / "web"


def mount_dashboard(app: FastAPI, settings: Settings) -> None:
    """Serve the dashboard at /ui when its folder exists."""
    web_dir = settings.web_dir or SHIPPED_WEB_DIR
    if not (web_dir / "index.html").is_file():
        return

    @app.get("/ui", include_in_schema=False)
    async def ui_root() -> RedirectResponse:
        return RedirectResponse("/ui/")

    app.mount("/ui/", StaticFiles(directory=web_dir, html=True), name="ui")
