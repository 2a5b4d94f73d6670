"""Several hosts on one machine: Linux network namespaces on a private bridge.

Each host is a network namespace with its own address on the bridge and its loopback up; a
process runs on it through `ip netns exec`. A host can be killed whole (SIGKILL of every
process in its namespace) or cut off (its cable pulled: the bridge end of its veth set down).
The machine itself reaches every host through the bridge's own address (`Network.gateway`).

iproute2's `ip` does the work: it is what runs processes in a namespace anyway, and the dozen
calls made here do not warrant a netlink library. Names carry this process's id (`iqh<pid>`),
so runs side by side never meet, and a run that died without cleaning up is swept by the next.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass

PREFIX = "iqh"
"""Every namespace, veth and bridge made here starts with this, then the owner's process id."""

SUBNETS = ipaddress.ip_network("10.213.0.0/16")
"""The /24s a network picks from: private, and unlikely to be routed on a test machine."""


class NetnsError(RuntimeError):
    """An `ip` command failed."""


def ip(*args: str) -> str:
    """Run `ip ARGS`, return its output; raise NetnsError with its message when it fails."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {done.stderr.strip() or done.returncode}")
    return done.stdout


def unavailable() -> str | None:
    """Why namespaces cannot be made on this machine, or None when they can."""
    if not sys.platform.startswith("linux"):
        return "network namespaces are a Linux feature"
    if os.geteuid() != 0:
        return "making network namespaces needs root"
    if shutil.which("ip") is None:
        return "making network namespaces needs iproute2's `ip`"
    probe = f"{PREFIX}{os.getpid()}-probe"
    try:
        ip("netns", "add", probe)
        ip("netns", "del", probe)
    except NetnsError as exc:
        return f"this machine refuses network namespaces: {exc}"
    return None


@dataclass(frozen=True)
class Host:
    """One host: a namespace with an address on the bridge, reached through its veth."""

    role: str
    netns: str
    address: str
    veth: str
    """The bridge's end of the host's cable (the host's own end is `eth0`)."""

    @property
    def on(self) -> list[str]:
        """The command prefix that runs a command on this host."""
        return ["ip", "netns", "exec", self.netns]

    def command(self, argv: Sequence[str]) -> list[str]:
        """`argv` run on this host."""
        return [*self.on, *argv]

    def pids(self) -> list[int]:
        """Every process running on this host."""
        return [int(pid) for pid in ip("netns", "pids", self.netns).split()]

    def runs(self, pid: int) -> bool:
        """Whether process `pid` runs on this host (in its namespace)."""
        try:
            link = os.readlink(f"/proc/{pid}/ns/net")
        except OSError:
            return False
        return link == f"net:[{os.stat(f'/run/netns/{self.netns}').st_ino}]"

    def kill(self) -> int:
        """SIGKILL every process on the host at once, as a power cut would; how many."""
        pids = self.pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return len(pids)

    def cut(self) -> None:
        """Pull the host's cable: nothing goes in or out, its processes run on."""
        ip("link", "set", self.veth, "down")

    def reconnect(self) -> None:
        """Plug the cable back in."""
        ip("link", "set", self.veth, "up")


class Network:
    """A bridge with a private /24 of its own and the hosts on it; `down()` removes it all."""

    def __init__(self) -> None:
        self.tag = f"{PREFIX}{os.getpid()}"
        self.bridge = f"{self.tag}br"
        self.subnet: ipaddress.IPv4Network | None = None
        self.hosts: dict[str, Host] = {}

    @property
    def gateway(self) -> str:
        """The machine's own address on the bridge."""
        assert self.subnet is not None, "the network is not up"
        return str(self.subnet.network_address + 1)

    def up(self) -> Network:
        """Sweep what dead runs left behind, then make the bridge with a free /24."""
        sweep_stale()
        self.subnet = free_subnet(os.getpid())
        ip("link", "add", self.bridge, "type", "bridge")
        ip("addr", "add", f"{self.gateway}/{self.subnet.prefixlen}", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        return self

    def add_host(self, role: str) -> Host:
        """A new namespace named after `role`, cabled to the bridge, its loopback up."""
        assert self.subnet is not None, "the network is not up"
        number = len(self.hosts) + 10
        host = Host(
            role=role,
            netns=f"{self.tag}-{role}",
            address=str(self.subnet.network_address + number),
            veth=f"{self.tag}v{number}",
        )
        ip("netns", "add", host.netns)
        ip("link", "add", host.veth, "type", "veth", "peer", "name", "eth0", "netns", host.netns)
        ip("link", "set", host.veth, "master", self.bridge, "up")
        cidr = f"{host.address}/{self.subnet.prefixlen}"
        ip("-n", host.netns, "addr", "add", cidr, "dev", "eth0")
        ip("-n", host.netns, "link", "set", "eth0", "up")
        ip("-n", host.netns, "link", "set", "lo", "up")
        self.hosts[role] = host
        return host

    def down(self) -> None:
        """Kill what still runs on the hosts, delete their namespaces (their veths go with
        them) and the bridge. Safe to call after a partial `up()`."""
        for host in self.hosts.values():
            with contextlib.suppress(NetnsError):
                host.kill()
            with contextlib.suppress(NetnsError):
                ip("netns", "del", host.netns)
        self.hosts.clear()
        with contextlib.suppress(NetnsError):
            ip("link", "del", self.bridge)


def free_subnet(seed: int) -> ipaddress.IPv4Network:
    """A /24 of SUBNETS that no address or route on the machine overlaps, tried from `seed`."""
    taken = [
        ipaddress.ip_network(f"{a['local']}/{a['prefixlen']}", strict=False)
        for link in json.loads(ip("-j", "-4", "addr") or "[]")
        for a in link.get("addr_info", [])
    ]
    taken += [
        ipaddress.ip_network(route["dst"])
        for route in json.loads(ip("-j", "-4", "route") or "[]")
        if route.get("dst", "default") != "default"
    ]
    candidates = list(SUBNETS.subnets(new_prefix=24))
    for offset in range(len(candidates)):
        subnet = candidates[(seed + offset) % len(candidates)]
        if not any(subnet.overlaps(net) for net in taken):
            return subnet
    raise NetnsError(f"every /24 of {SUBNETS} is in use on this machine")


def sweep_stale() -> None:
    """Remove the namespaces and bridges of runs whose process has ended."""
    pattern = re.compile(rf"^{PREFIX}(\d+)(?:-|br$)")
    names = [line.split()[0] for line in ip("netns", "list").splitlines() if line.strip()]
    names += [link["ifname"] for link in json.loads(ip("-j", "link", "show") or "[]")]
    for name in names:
        found = pattern.match(name)
        if found is None or _alive(int(found.group(1))):
            continue
        with contextlib.suppress(NetnsError):
            if name.endswith("br"):
                ip("link", "del", name)
            else:
                Host(name, name, "", "").kill()
                ip("netns", "del", name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
