"""`redis+sentinel://` URLs: Sentinels that name the current primary, for every Redis user.

`redis+sentinel://[[user]:password@]host1:26379,host2:26379/<master-name>/<db>` lists the
Sentinels, the name they monitor the primary under and the database number. The password is the
primary's (and its replicas'); a protected Sentinel's own password is given as the query
parameters `sentinel_password` (and `sentinel_username`).

redis-py's `Sentinel.master_for` pools ask a Sentinel for the primary on every new connection,
drop connections to an address that is no longer the primary, and turn a demoted primary's
`READONLY` reply into a `ConnectionError` (so a retry goes to the new primary). kombu's
`sentinel://` transport is built on them for the Celery broker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import redis
import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.sentinel import Sentinel

SCHEME = "redis+sentinel"
#: How long a question to one Sentinel may take before the next one is asked.
SENTINEL_TIMEOUT = 1.0


class SentinelUrlError(ValueError):
    """A `redis+sentinel://` URL that cannot be used; the message says which part."""


@dataclass(frozen=True)
class SentinelUrl:
    """The parts of a `redis+sentinel://` URL."""

    sentinels: tuple[tuple[str, int], ...]
    master: str
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sentinel_username: str | None = None
    sentinel_password: str | None = field(default=None, repr=False)

    @property
    def sentinel_kwargs(self) -> dict[str, Any]:
        """Connection options for the Sentinels themselves."""
        options: dict[str, Any] = {
            "socket_timeout": SENTINEL_TIMEOUT,
            "socket_connect_timeout": SENTINEL_TIMEOUT,
        }
        if self.sentinel_password:
            options["password"] = self.sentinel_password
            options["username"] = self.sentinel_username
        return options

    @property
    def primary_kwargs(self) -> dict[str, Any]:
        """Connection options for the primary: database and credentials."""
        return {"db": self.db, "username": self.username, "password": self.password}

    def sync_client(self, **options: Any) -> redis.Redis:
        """A client whose pool finds the primary through the Sentinels (redis-py)."""
        sentinel = Sentinel(list(self.sentinels), sentinel_kwargs=self.sentinel_kwargs)
        return sentinel.master_for(self.master, **self.primary_kwargs, **options)

    def async_client(self, **options: Any) -> aioredis.Redis:
        """`sync_client` for asyncio."""
        sentinel = self.async_sentinel()
        return sentinel.master_for(self.master, **self.primary_kwargs, **options)

    def async_sentinel(self) -> AsyncSentinel:
        """An asyncio view of the Sentinels (`discover_master` finds the primary)."""
        return AsyncSentinel(list(self.sentinels), sentinel_kwargs=self.sentinel_kwargs)

    def kombu_broker(self) -> tuple[str, dict[str, Any]]:
        """kombu's `sentinel://` broker URL and the transport options it needs."""
        auth = ""
        if self.password:
            auth = f"{quote(self.username or '', safe='')}:{quote(self.password, safe='')}@"
        urls = [
            f"sentinel://{auth}{_netloc(host, port)}/{self.db}" for host, port in self.sentinels
        ]
        options = {"master_name": self.master, "sentinel_kwargs": self.sentinel_kwargs}
        return ";".join(urls), options


def is_sentinel_url(url: str | None) -> bool:
    """Whether `url` names Sentinels rather than one server."""
    return bool(url) and url.lower().startswith(f"{SCHEME}://")  # type: ignore[union-attr]


def parse_sentinel_url(url: str) -> SentinelUrl:
    """The parts of a `redis+sentinel://` URL; SentinelUrlError names what is wrong."""
    parts = urlsplit(url)
    if parts.scheme.lower() != SCHEME:
        raise SentinelUrlError(f"not a {SCHEME}:// URL")
    credentials, _, hosts = parts.netloc.rpartition("@")
    username, _, password = credentials.partition(":")
    sentinels = tuple(_host_port(item) for item in hosts.split(",") if item)
    if not sentinels:
        raise SentinelUrlError("give at least one Sentinel as host:port")
    path = [unquote(piece) for piece in parts.path.split("/") if piece]
    if not path or len(path) > 2:
        raise SentinelUrlError("the path must be /<master-name> or /<master-name>/<db>")
    if len(path) == 2 and not path[1].isdigit():
        raise SentinelUrlError("the database must be a number")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    return SentinelUrl(
        sentinels=sentinels,
        master=path[0],
        db=int(path[1]) if len(path) == 2 else 0,
        username=unquote(username) or None,
        password=unquote(password) or None,
        sentinel_username=query.get("sentinel_username"),
        sentinel_password=query.get("sentinel_password"),
    )


def _host_port(item: str) -> tuple[str, int]:
    host, _, port = item.rpartition(":")
    if not host or not port.isdigit():
        raise SentinelUrlError(f"Sentinel {item!r} is not host:port")
    return host.strip("[]"), int(port)


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
