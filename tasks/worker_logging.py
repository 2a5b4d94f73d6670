"""Workers log like the API: inferq's JSON lines instead of Celery's own format."""

from __future__ import annotations

from typing import Any

from celery.signals import setup_logging

from inferq.config import get_settings
from inferq.logs import configure_logging


@setup_logging.connect
def use_inferq_logging(**_: Any) -> None:
    """Configure logging from the settings (connecting this stops Celery configuring it)."""
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
