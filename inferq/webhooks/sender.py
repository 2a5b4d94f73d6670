"""Sending one signed webhook request: no redirects, a deadline, and a short read of the answer."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import httpx

from inferq.webhooks.schedule import parse_retry_after
from inferq.webhooks.signing import webhook_headers
from inferq.webhooks.ssrf import HostAllowlist, UnsafeWebhookURL, check_webhook_url

USER_AGENT = "inferq-webhooks/1"
#: Bytes of a receiver's answer kept with the attempt (the rest is not read).
RESPONSE_PREVIEW_BYTES = 512
_clients: dict[int, httpx.Client] = {}


@dataclass(frozen=True)
class SendResult:
    """What one attempt got: the status code (None when no answer came) and how long it took."""

    status_code: int | None
    latency_ms: float
    error: str | None
    retry_after: float | None = None
    response: str = ""

    @property
    def succeeded(self) -> bool:
        """Only a 2xx answer counts as delivered."""
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        """A 410 says the receiver wants no more deliveries: retries stop."""
        return self.status_code == 410


def send_signed(
    url: str,
    msg_id: str,
    body: bytes,
    secrets: list[str],
    timeout: float,
    allowlist: HostAllowlist,
) -> SendResult:
    """POST `body` signed with every secret; never raises, whatever the receiver does."""
    started = time.monotonic()
    if not secrets:
        return SendResult(None, 0.0, "the tenant has no webhook secret to sign with")
    try:
        # Checked again at send time: the host may resolve elsewhere than at submission.
        check_webhook_url(url, allowlist)
    except UnsafeWebhookURL as exc:
        return SendResult(None, _elapsed_ms(started), f"refused: {exc}")
    headers = webhook_headers(secrets, msg_id, int(time.time()), body)
    headers["user-agent"] = USER_AGENT
    try:
        with _client().stream(
            "POST", url, content=body, headers=headers, timeout=timeout
        ) as answer:
            preview = _read_preview(answer)
    except httpx.HTTPError as exc:
        return SendResult(None, _elapsed_ms(started), f"{type(exc).__name__}: {exc}")
    return _result(answer, preview, started)


def _client() -> httpx.Client:
    """This process's client: building one (its TLS context) costs more than a local delivery."""
    pid = os.getpid()
    if pid not in _clients:
        _clients.clear()  # a forked child must not share its parent's connections
        _clients[pid] = httpx.Client(follow_redirects=False)
    return _clients[pid]


def _read_preview(answer: httpx.Response) -> str:
    data = b""
    for chunk in answer.iter_bytes():
        data += chunk
        if len(data) >= RESPONSE_PREVIEW_BYTES:
            break
    return data[:RESPONSE_PREVIEW_BYTES].decode("utf-8", errors="replace")


def _result(answer: httpx.Response, preview: str, started: float) -> SendResult:
    code = answer.status_code
    error = None
    if answer.is_redirect:
        error = f"HTTP {code}: redirects are not followed"
    elif not 200 <= code < 300:
        error = f"HTTP {code}"
    return SendResult(
        status_code=code,
        latency_ms=_elapsed_ms(started),
        error=error,
        retry_after=parse_retry_after(answer.headers.get("retry-after")),
        response=preview,
    )


def _elapsed_ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
