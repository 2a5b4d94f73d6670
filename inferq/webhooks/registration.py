"""Checking a job's webhook when the job is submitted, so a bad one is a 422 and not a surprise."""

from __future__ import annotations

from typing import Any

from inferq.config import Settings
from inferq.problems import InputProblem
from inferq.webhooks.secrets import WebhookSecrets
from inferq.webhooks.ssrf import HostAllowlist, UnsafeWebhookURL, check_webhook_url


def check_webhook_registration(
    webhook: dict[str, Any] | None, tenant: str, settings: Settings, secrets: WebhookSecrets
) -> None:
    """Raise InputProblem (422) if the URL is not safe to call or nothing could sign deliveries."""
    if webhook is None:
        return
    try:
        check_webhook_url(webhook["url"], HostAllowlist.parse(settings.webhook_allowed_hosts))
    except UnsafeWebhookURL as exc:
        raise InputProblem(
            "Webhook URL refused", [{"loc": ["body", "webhook", "url"], "msg": str(exc)}]
        ) from exc
    if not secrets.signing(tenant):
        msg = "create a webhook secret first (POST /v1/webhook-secrets): deliveries are signed"
        raise InputProblem("No webhook secret", [{"loc": ["body", "webhook"], "msg": msg}])
