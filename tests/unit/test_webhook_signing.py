"""Signatures as the Standard Webhooks package checks them."""

from __future__ import annotations

import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from inferq.webhooks.signing import new_secret, secret_key, webhook_headers


def test_new_secrets_are_whsec_with_32_random_bytes() -> None:
    """A secret is `whsec_` and base64 of 32 bytes, and no two are alike."""
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_") and len(secret_key(first)) == 32
    assert first != second


def test_signed_headers_verify_with_standardwebhooks() -> None:
    """The package verifies our headers and returns the body."""
    secret = new_secret()
    body = b'{"type":"job.succeeded","data":{"id":"job_1","note":"\xc3\xa9"}}'
    headers = webhook_headers([secret], "msg_1", int(time.time()), body)
    assert Webhook(secret).verify(body, headers)["data"]["note"] == "é"


def test_every_secret_in_rotation_verifies_alone() -> None:
    """With two secrets, two signatures are sent and either secret verifies on its own."""
    old, new = new_secret(), new_secret()
    body = b'{"a":1}'
    headers = webhook_headers([new, old], "msg_2", int(time.time()), body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(body, headers)


def test_a_changed_body_or_other_secret_does_not_verify() -> None:
    """Tampering with the body, or verifying with another secret, fails."""
    secret = new_secret()
    headers = webhook_headers([secret], "msg_3", int(time.time()), b'{"a":1}')
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"a":2}', headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(b'{"a":1}', headers)
