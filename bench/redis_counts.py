"""What a Redis server did between two moments: commands by name, bytes in and out, CPU seconds.

`INFO commandstats` counts every command the server ran, including the ones a Lua script
(`EVAL`/`EVALSHA`) calls: a script shows up once under `evalsha` and once more under each command
it called. `INFO stats` gives the bytes read from and written to clients, and the reads from
client sockets (a request, or a pipeline of them, is about one read: round trips). Its `usec`
times are wall-clock, and so are left out: on a shared machine they count the time the server
waited for a core. CPU seconds come from /proc instead. `RedisCounter` reads
both, takes out what its own reads cost (the `INFO` calls and their replies), and can take out
what the server does when nothing is submitted (heartbeats, batcher doorbells, janitor sweeps)
at the rate measured in an idle window, so what is left is the work of the jobs.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

OWN_COMMANDS = ("info",)
"""Commands the counter itself sends; the stack under test never sends them."""


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class RedisWork:
    """Work a Redis server did over a span: calls by command, bytes, CPU and wall seconds."""

    calls: Counter[str] = field(default_factory=Counter)
    reads: float = 0.0
    """Reads from client sockets (`total_reads_processed`): about one per request or pipeline."""
    bytes_in: float = 0.0
    bytes_out: float = 0.0
    cpu_seconds: float = 0.0
    seconds: float = 0.0

    @property
    def commands(self) -> float:
        """Commands run, those inside scripts included."""
        return float(sum(self.calls.values()))

    def minus(self, other: RedisWork) -> RedisWork:
        """This span's work without `other`'s (negative counts are kept: they show noise)."""
        calls = Counter(self.calls)
        calls.subtract(other.calls)
        return RedisWork(
            calls=Counter({name: n for name, n in calls.items() if n}),
            reads=self.reads - other.reads,
            bytes_in=self.bytes_in - other.bytes_in,
            bytes_out=self.bytes_out - other.bytes_out,
            cpu_seconds=self.cpu_seconds - other.cpu_seconds,
            seconds=self.seconds,
        )

    def scaled(self, factor: float) -> RedisWork:
        """Every amount times `factor` (per job: 1 / jobs; an idle rate over a span: seconds)."""
        return RedisWork(
            calls=Counter({name: n * factor for name, n in self.calls.items()}),
            reads=self.reads * factor,
            bytes_in=self.bytes_in * factor,
            bytes_out=self.bytes_out * factor,
            cpu_seconds=self.cpu_seconds * factor,
            seconds=self.seconds * factor,
        )


@dataclass(frozen=True)
class _Reading:
    calls: Counter[str]
    reads: int
    bytes_in: int
    bytes_out: int
    cpu_seconds: float
    at: float
    asked: Counter[str]


class RedisCounter:
    """Measures spans of a server's work; its own `INFO` reads are taken out of each span."""

    def __init__(self, client: redis.Redis, pid: int | None = None) -> None:
        self.client = client
        self.pid = pid
        self.idle_per_second = RedisWork()
        self._asked: Counter[str] = Counter()
        self._own = RedisWork()
        self._own = self._span_cost()

    def ask(self, *command: str | int) -> Any:
        """Send one command of our own (to watch the stack); spans leave it out."""
        self._asked[str(command[0]).lower()] += 1
        return self.client.execute_command(*command)

    def read(self) -> _Reading:
        """The server's counters now."""
        stats = self.client.info("commandstats")
        traffic = self.client.info("stats")
        calls: Counter[str] = Counter()
        for name, values in stats.items():
            command = name.removeprefix("cmdstat_")
            if command not in OWN_COMMANDS:
                calls[command] = int(values["calls"])
        cpu = process_cpu_seconds(self.pid) if self.pid is not None else 0.0
        return _Reading(
            calls,
            int(traffic["total_reads_processed"]),
            int(traffic["total_net_input_bytes"]),
            int(traffic["total_net_output_bytes"]),
            cpu,
            time.perf_counter(),
            Counter(self._asked),
        )

    def between(self, before: _Reading, after: _Reading) -> RedisWork:
        """The work between two readings, without the counter's own reads and the idle rate."""
        calls = Counter(after.calls)
        calls.subtract(before.calls)
        calls.subtract(after.asked)
        calls.update(before.asked)
        seconds = after.at - before.at
        work = RedisWork(
            calls=calls,
            reads=after.reads - before.reads,
            bytes_in=after.bytes_in - before.bytes_in,
            bytes_out=after.bytes_out - before.bytes_out,
            cpu_seconds=after.cpu_seconds - before.cpu_seconds,
            seconds=seconds,
        )
        return work.minus(self._own).minus(self.idle_per_second.scaled(seconds))

    @contextmanager
    def span(self) -> Iterator[list[RedisWork]]:
        """`with counter.span() as work:` ... then `work[0]` is what the server did inside."""
        found: list[RedisWork] = []
        before = self.read()
        yield found
        found.append(self.between(before, self.read()))

    def learn_idle(self, seconds: float) -> RedisWork:
        """Measure what the server does per second with no jobs coming; later spans drop it."""
        self.idle_per_second = RedisWork()
        with self.span() as idle:
            time.sleep(seconds)
        self.idle_per_second = idle[0].scaled(1 / idle[0].seconds)
        return self.idle_per_second

    def _span_cost(self) -> RedisWork:
        """What one span's two readings add to the counters: the bytes of the INFO calls."""
        costs = []
        for _ in range(3):
            first = self.read()
            costs.append(self.between(first, self.read()))
        cheapest = min(costs, key=lambda cost: cost.bytes_in + cost.bytes_out)
        return RedisWork(
            reads=cheapest.reads, bytes_in=cheapest.bytes_in, bytes_out=cheapest.bytes_out
        )
