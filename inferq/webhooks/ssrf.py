"""Refusing webhook URLs that would make inferq call into private networks (SSRF)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]


class UnsafeWebhookURL(ValueError):
    """A webhook URL inferq will not call; the message says why."""


@dataclass(frozen=True)
class HostAllowlist:
    """Hosts and address ranges a webhook may target even though they are not public."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, text: str) -> HostAllowlist:
        """Read `INFERQ_WEBHOOK_ALLOWED_HOSTS`: comma-separated host names, addresses or CIDRs."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for item in (part.strip() for part in text.split(",")):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                hosts.add(item.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        """Whether the host name itself is listed."""
        return host.lower().rstrip(".") in self.hosts

    def allows_address(self, address: IPAddress) -> bool:
        """Whether the address lies in a listed range."""
        return any(address in network for network in self.networks)


def is_public(address: IPAddress) -> bool:
    """Whether an address is globally routable unicast: not loopback, private, link-local
    (where cloud metadata lives), shared, reserved or multicast."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def resolve(host: str, port: int) -> list[str]:
    """Every address the host name resolves to (what a connection could end up using)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def check_webhook_url(
    url: str, allowlist: HostAllowlist, resolver: Resolver = resolve
) -> list[str]:
    """The addresses `url` resolves to; raises UnsafeWebhookURL unless all of them are allowed."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:  # an unclosed or bad `[` IPv6 host
        raise UnsafeWebhookURL(f"the URL is malformed: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeWebhookURL("the URL must start with http:// or https://")
    if not host:
        raise UnsafeWebhookURL("the URL has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeWebhookURL(f"the URL's port is invalid: {exc}") from exc
    try:
        addresses = resolver(host, port)
    except (OSError, UnicodeError) as exc:  # UnicodeError: a name IDNA cannot encode
        raise UnsafeWebhookURL(f"the host {host!r} does not resolve: {exc}") from exc
    if not addresses:
        raise UnsafeWebhookURL(f"the host {host!r} does not resolve")
    if allowlist.allows_host(host):
        return addresses
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if not is_public(address) and not allowlist.allows_address(address):
            raise UnsafeWebhookURL(
                f"the host {host!r} resolves to {address}, a loopback, private, link-local or "
                "metadata address; INFERQ_WEBHOOK_ALLOWED_HOSTS can allow it"
            )
    return addresses
