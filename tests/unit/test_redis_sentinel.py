"""`redis+sentinel://` URLs: their parts, and the broker settings kombu is given."""

from __future__ import annotations

import pytest

from inferq.config import Settings
from inferq.queue import celery_config
from inferq.redis_sentinel import SentinelUrlError, is_sentinel_url, parse_sentinel_url


def test_sentinels_master_and_database_are_read() -> None:
    """Every Sentinel, the master name and the database come from the URL."""
    url = parse_sentinel_url("redis+sentinel://h1:26379,10.0.0.2:26380/mymaster/3")
    assert url.sentinels == (("h1", 26379), ("10.0.0.2", 26380))
    assert (url.master, url.db, url.password) == ("mymaster", 3, None)


def test_passwords_of_the_primary_and_of_the_sentinels() -> None:
    """The userinfo is the primary's password; `sentinel_password` protects the Sentinels."""
    url = parse_sentinel_url(
        "redis+sentinel://:s%40cret@h1:26379/m?sentinel_password=watch&sentinel_username=ops"
    )
    assert (url.username, url.password, url.db) == (None, "s@cret", 0)
    assert url.sentinel_kwargs["password"] == "watch"
    assert url.sentinel_kwargs["username"] == "ops"
    assert url.primary_kwargs["password"] == "s@cret"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("redis+sentinel:///m/0", "at least one Sentinel"),
        ("redis+sentinel://h1/m/0", "host:port"),
        ("redis+sentinel://h1:26379", "master-name"),
        ("redis+sentinel://h1:26379/m/zero", "database"),
    ],
)
def test_a_bad_url_is_refused_naming_its_fault(url: str, says: str) -> None:
    """A URL missing a part is refused with a message naming that part."""
    with pytest.raises(SentinelUrlError, match=says):
        parse_sentinel_url(url)


def test_settings_refuse_a_bad_sentinel_url_at_start() -> None:
    """A malformed `INFERQ_REDIS_URL` stops the process at start, naming the setting."""
    with pytest.raises(ValueError, match="INFERQ_REDIS_URL"):
        Settings(redis_url="redis+sentinel://h1/m")


def test_celery_broker_uses_kombus_sentinel_transport() -> None:
    """The Celery broker lists each Sentinel as a `sentinel://` URL with the master name and
    the Sentinels' password in the transport options; plain URLs pass unchanged."""
    settings = Settings(redis_url="redis+sentinel://:pw@h1:1,h2:2/mymaster/2?sentinel_password=sp")
    config = celery_config(settings)
    assert config["broker_url"] == "sentinel://:pw@h1:1/2;sentinel://:pw@h2:2/2"
    options = config["broker_transport_options"]
    assert options["master_name"] == "mymaster"
    assert options["sentinel_kwargs"]["password"] == "sp"
    assert celery_config(Settings(redis_url="redis://h:6379/0"))["broker_url"] == "redis://h:6379/0"
    assert not is_sentinel_url("redis://h:6379/0")
