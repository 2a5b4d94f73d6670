"""Which webhook URLs inferq refuses to call."""

from __future__ import annotations

import pytest

from inferq.webhooks.ssrf import HostAllowlist, UnsafeWebhookURL, check_webhook_url

NOBODY = HostAllowlist()


def resolving_to(*addresses: str):
    """A resolver answering with fixed addresses (DNS stays out of unit tests)."""
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.100.100.200",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fd00:ec2::254",
        "::ffff:127.0.0.1",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    """Loopback, private, link-local, metadata, shared, unspecified and multicast: refused."""
    with pytest.raises(UnsafeWebhookURL, match="INFERQ_WEBHOOK_ALLOWED_HOSTS"):
        check_webhook_url("https://hooks.example.com/x", NOBODY, resolving_to(address))


def test_public_addresses_pass() -> None:
    """A host resolving only to public addresses is allowed."""
    addresses = check_webhook_url(
        "https://hooks.example.com/x", NOBODY, resolving_to("93.184.215.14", "2606:2800::1")
    )
    assert addresses == ["93.184.215.14", "2606:2800::1"]


def test_one_private_address_among_public_ones_is_refused() -> None:
    """Every resolved address must be public, since a connection may use any of them."""
    with pytest.raises(UnsafeWebhookURL):
        check_webhook_url("https://h.example/x", NOBODY, resolving_to("93.184.215.14", "10.0.0.2"))


def test_the_allowlist_admits_hosts_and_ranges() -> None:
    """Listed host names and CIDR ranges pass; others stay refused."""
    allow = HostAllowlist.parse("receiver.internal, 10.20.0.0/16 ,127.0.0.1")
    check_webhook_url("http://receiver.internal/x", allow, resolving_to("10.9.9.9"))
    check_webhook_url("http://a.example/x", allow, resolving_to("10.20.3.4"))
    check_webhook_url("http://127.0.0.1:9000/x", allow, resolving_to("127.0.0.1"))
    with pytest.raises(UnsafeWebhookURL):
        check_webhook_url("http://a.example/x", allow, resolving_to("10.21.0.1"))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/x", "http"),
        ("file:///etc/passwd", "http"),
        ("http:///nohost", "no host"),
        ("http://example.com:99999/x", "port"),
        ("http://[::1/x", "malformed"),
        ("http://[not-an-address]/x", "malformed"),
    ],
)
def test_malformed_urls_are_refused(url: str, reason: str) -> None:
    """Only http(s) URLs with a host and a valid port are taken."""
    with pytest.raises(UnsafeWebhookURL, match=reason):
        check_webhook_url(url, NOBODY, resolving_to("93.184.215.14"))


def test_a_host_that_does_not_resolve_is_refused() -> None:
    """A resolution error is a refusal that names the host."""

    def failing(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(UnsafeWebhookURL, match="nowhere.invalid"):
        check_webhook_url("https://nowhere.invalid/x", NOBODY, failing)


def test_a_host_name_idna_cannot_encode_is_refused() -> None:
    """A label over 63 characters fails in the resolver's IDNA step: a refusal, not a crash."""
    long_label = f"https://{'a' * 64}.example/x"
    with pytest.raises(UnsafeWebhookURL, match="does not resolve"):
        check_webhook_url(long_label, NOBODY)
