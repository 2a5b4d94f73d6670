"""What happens to a host in the chaos runs across hosts (tests/hosts.py): a worker host
killed or cut off while it scores a chunk, the API host restarted while uploads stream in.

Each disruption waits for the moment it is meant to hit (a chunk scored on that host, an upload
being taken in) and fails with a timeout if it never comes. `make_whole` puts the stack back
as it was: every worker host cabled and running, the API up.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from inferq.jobs.keys import INTAKES_ZSET, PREFIX, job
from tests.host_load import Load
from tests.hosts import WORKER_HOSTS, HostStack

RUNNING_CHUNKS = f"{PREFIX}:job:*:chunks_running"


def make_whole(stack: HostStack) -> None:
    """Reconnect and restart whatever an earlier disruption left down."""
    stack.wait_until_sentinels_ready()
    for role in WORKER_HOSTS:
        stack.hosts[role].reconnect()
        if not any(w.name.startswith(f"{role}-") and w.is_running() for w in stack.workers):
            stack.start_worker_host(role)
    if stack.api is None or not stack.api.is_running():
        stack.start_api_host()


def wait_chunk_on(stack: HostStack, role: str, seconds: float = 60) -> str:
    """Block until a process on host `role` scores a chunk; the job's Redis key. Fails with
    TimeoutError after `seconds`."""
    host, client = stack.hosts[role], stack.redis()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for key in client.scan_iter(match=RUNNING_CHUNKS, count=1000):
            for value in client.hvals(key):
                owner = value.decode().rpartition(" ")[0]
                if host.runs(int(owner.rpartition(":")[2])):
                    return str(key.decode())
        time.sleep(0.005)
    raise TimeoutError(f"no chunk was scored on {role} in {seconds}s")


def kill_worker_host(stack: HostStack, role: str) -> int:
    """SIGKILL every process on worker host `role` while it scores a chunk; how many."""
    wait_chunk_on(stack, role)
    return stack.kill_host(role)


def cut_worker_host(stack: HostStack, role: str, seconds: float) -> None:
    """Pull worker host `role`'s cable while it scores a chunk, for `seconds`, then plug it
    back in."""
    wait_chunk_on(stack, role)
    stack.hosts[role].cut()
    try:
        time.sleep(seconds)
    finally:
        stack.hosts[role].reconnect()


def restart_api_host(stack: HostStack, seconds: float = 60) -> set[str]:
    """Kill every process on the API host while an upload is being taken in (its job stored,
    its last chunk not yet), and start the API again; the jobs whose intake the dead API held."""
    client = stack.redis()
    deadline = time.monotonic() + seconds
    while not any(client.exists(job(i.decode())) for i in client.zrange(INTAKES_ZSET, 0, -1)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no upload was in flight in {seconds}s")
        time.sleep(0.005)
    stack.kill_host("api")
    held = {member.decode() for member in client.zrange(INTAKES_ZSET, 0, -1)}
    stack.start_api_host()
    return held


@dataclass(frozen=True)
class Switch:
    """A primary host killed: which hosts were primary before and after, and when (monotonic)
    it was killed and the Sentinels agreed on the new one."""

    old: str
    new: str
    killed_at: float
    promoted_at: float


def kill_primary_host(stack: HostStack) -> Switch:
    """SIGKILL every process on the Redis primary's host while jobs come in; once the
    Sentinels name the replica, boot the host again: its Redis rejoins as a replica."""
    old, killed_at = stack.kill_primary_host()
    new = stack.wait_for_new_primary(old)
    promoted_at = time.monotonic()
    stack.reboot_redis_host(old)
    return Switch(old, new, killed_at, promoted_at)


def serving_again(load: Load, switch: Switch) -> float | None:
    """Seconds from the kill to the first job accepted after the Sentinels' promotion (an
    answer in flight at the kill can arrive just after it), or None."""
    for moment, answer in load.answers_since(switch.promoted_at):
        if answer in ("200", "202"):
            return moment - switch.killed_at
    return None


def restart_api(stack: HostStack, **settings: str) -> None:
    """Start the API again with these settings changed (`redis_min_replicas="0"`)."""
    stack.extra.update(settings)
    if stack.api is not None:
        stack.api.stop()
    stack.start_api_host()
