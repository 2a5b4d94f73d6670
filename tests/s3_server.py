"""An S3-compatible server for tests: moto's server in a process of its own (on 127.0.0.1, or
on another host's address)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from inferq.children import ChildProcess
from inferq.redis_server import free_port

#: Credentials moto accepts (any); real ones never reach the test server.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@contextmanager
def s3_server(
    log: Path, host: str = "127.0.0.1", port: int = 0, on: Sequence[str] = ()
) -> Iterator[dict[str, str]]:
    """Run moto's S3 server on `host` and `port` (0: a free one) until the block ends; yields
    the environment that points boto3/s3fs at it (endpoint and test credentials). `on`
    prefixes its command (`ip netns exec NS` runs it on another host)."""
    port = port or free_port()
    argv = [*on, sys.executable, "-m", "moto.server", "-H", host, "-p", str(port)]
    with log.open("ab") as output:
        server = ChildProcess("moto", argv, output=output)
        server.start()
        try:
            endpoint = f"http://{host}:{port}"
            _wait_until_it_answers(server, endpoint)
            yield {"AWS_ENDPOINT_URL_S3": endpoint, **CREDENTIALS}
        finally:
            server.stop()


def _wait_until_it_answers(server: ChildProcess, endpoint: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"moto server exited with {server.poll()}")
        try:
            httpx.get(f"{endpoint}/moto-api/", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise TimeoutError(f"moto server did not answer in {timeout}s")
