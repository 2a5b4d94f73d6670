"""The capacity bench's tables: what each operation cost, per job, per row or per chunk."""

from __future__ import annotations

from dataclasses import dataclass

from bench.redis_counts import RedisWork

SHOWN_COMMANDS = 14
"""Command names listed per table (the most called); the rest are summed on one line."""


@dataclass(frozen=True)
class Operation:
    """One measured operation: Redis's work and each part's CPU seconds, over `units`."""

    name: str
    work: RedisWork
    cpu: dict[str, float]
    units: int

    def per_unit(self, amount: float) -> float:
        """`amount` (a total of this operation) per unit."""
        return amount / self.units if self.units else float("nan")

    def minus(self, other: Operation, units: int) -> Operation:
        """The totals of this operation less `other`'s, spread over `units`."""
        cpu = {part: spent - other.cpu.get(part, 0.0) for part, spent in self.cpu.items()}
        return Operation(self.name, self.work.minus(other.work), cpu, units)

    def times(self, units: int) -> Operation:
        """What `units` units of this operation cost, as one operation of that many units."""
        factor = units / self.units if self.units else 0.0
        cpu = {part: spent * factor for part, spent in self.cpu.items()}
        return Operation(self.name, self.work.scaled(factor), cpu, units)


def total(name: str, operations: list[Operation]) -> Operation:
    """The operations added up per unit, over the units of the first."""
    units = operations[0].units
    work, cpu = RedisWork(), dict[str, float]()
    for operation in operations:
        share = operation.times(units)
        work = work.minus(share.work.scaled(-1))
        for part, spent in share.cpu.items():
            cpu[part] = cpu.get(part, 0.0) + spent
    return Operation(name, work, cpu, units)


def _number(value: float) -> str:
    if value != value:  # NaN
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def print_operations(title: str, operations: list[Operation], add_up: bool = True) -> None:
    """Per operation: commands, bytes, Redis CPU and each part's CPU; then commands by name.

    With `add_up`, a last row adds the operations up (the steps of one job's life)."""
    if add_up and len(operations) > 1:
        operations = [*operations, total("total", operations)]
    print(f"\n## {title}")
    head = (
        "operation",
        "commands",
        "B in",
        "B out",
        "reads",
        "Redis CPU us",
        "API CPU ms",
        "worker CPU ms",
    )
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    for op in operations:
        cells = [
            op.name,
            _number(op.per_unit(op.work.commands)),
            _number(op.per_unit(op.work.bytes_in)),
            _number(op.per_unit(op.work.bytes_out)),
            _number(op.per_unit(op.work.reads)),
            _number(op.per_unit(op.work.cpu_seconds) * 1e6),
            _number(op.per_unit(op.cpu.get("api", 0.0)) * 1e3),
            _number(op.per_unit(op.cpu.get("worker", 0.0)) * 1e3),
        ]
        print("| " + " | ".join(cells) + " |")
    print_commands(operations, operations[-1] if add_up else total("all", operations))


def print_commands(operations: list[Operation], overall_operation: Operation) -> None:
    """Calls per unit by command name (script calls count as `evalsha`, and their commands
    count again under their own names), one column per operation, most called first."""
    overall = overall_operation.work.calls
    names = sorted(overall, key=lambda name: -abs(overall[name]))
    shown, rest = names[:SHOWN_COMMANDS], names[SHOWN_COMMANDS:]
    print("\n| command | " + " | ".join(op.name for op in operations) + " |")
    print("|" + " --- |" * (len(operations) + 1))
    for name in shown:
        cells = [_number(op.per_unit(op.work.calls.get(name, 0))) for op in operations]
        print(f"| {name} | " + " | ".join(cells) + " |")
    if rest:
        cells = [
            _number(op.per_unit(sum(op.work.calls.get(name, 0) for name in rest)))
            for op in operations
        ]
        print(f"| {len(rest)} others ({', '.join(rest)}) | " + " | ".join(cells) + " |")
