"""Flower, as the compose file runs it, watches the stack's workers."""

from __future__ import annotations

import sys
import time

import httpx

from inferq.children import ChildProcess
from inferq.redis_server import free_port
from tests.stack import Stack


def test_flower_lists_the_running_workers(stack: Stack) -> None:
    """`celery -A tasks.app:celery_app flower` answers its health check and lists our worker."""
    port = free_port()
    argv = [sys.executable, "-m", "celery", "-A", "tasks.app:celery_app", "flower"]
    argv += [f"--port={port}", "--address=127.0.0.1"]
    env = {**stack.env, "FLOWER_UNAUTHENTICATED_API": "true"}
    with (stack.base / "flower.log").open("ab") as log:
        flower = ChildProcess("flower", argv, env=env, output=log)
        flower.start()
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            workers: dict = {}
            while not workers:
                assert time.monotonic() < deadline and flower.poll() is None, "flower did not start"
                try:
                    workers = httpx.get(f"{base}/api/workers", timeout=20).json()
                except httpx.HTTPError:
                    time.sleep(0.2)
            assert httpx.get(f"{base}/healthcheck").text == "OK"
            assert any(name.endswith("@test") for name in workers)
        finally:
            flower.stop()
