"""Data travels one way: the packages import each other in layers, and no modules in a circle.

The layers, top to bottom: `api` (HTTP face) and `tasks` (Celery entry points) over `workers`
(what runs inside a worker) over `models` (registry and loading) over `inferq` (the shared core:
config, job state, storage, webhooks, client). A package may import only those below it; `api`
and `workers` never import each other. Imports inside functions count too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("api", "tasks", "workers", "models", "inferq")

#: What each top-level package may import besides itself.
ALLOWED = {
    "api": {"models", "inferq"},
    "tasks": {"workers", "models", "inferq"},
    "workers": {"models", "inferq"},
    "models": {"inferq"},
    "inferq": set(),
}


def module_name(path: Path) -> str:
    """`api/lane.py` -> `api.lane`; a package's `__init__.py` is the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, modules: set[str]) -> Iterator[str]:
    """The names of `modules` that `path` imports, anywhere in it. `from a import b` imports
    the module `a.b` when there is one, else a name from `a`."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                yield submodule if submodule in modules else node.module


def import_graph() -> dict[str, set[str]]:
    """Our modules and, for each, the modules of ours it imports."""
    paths = {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    names = set(paths)
    return {
        name: {m for m in imported_modules(path, names) if m in names and m != name}
        for name, path in paths.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while (member := stack.pop()) != node:
                component.append(member)
            component.append(node)
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_packages_import_only_the_layers_below_them() -> None:
    """No worker, task, model or core module imports the API, and no arrow climbs a layer."""
    wrong = sorted(
        f"{name} imports {target}"
        for name, targets in import_graph().items()
        for target in targets
        if (src := name.split(".")[0]) != (dst := target.split(".")[0]) and dst not in ALLOWED[src]
    )
    assert wrong == []


def test_no_import_cycle_between_packages() -> None:
    """The top-level packages import each other without a circle."""
    packages: dict[str, set[str]] = {pkg: set() for pkg in PACKAGES}
    for name, targets in import_graph().items():
        packages[name.split(".")[0]] |= {t.split(".")[0] for t in targets}
    for pkg, targets in packages.items():
        targets.discard(pkg)
    assert cycles(packages) == []


def test_no_import_cycle_between_modules() -> None:
    """No module imports itself back through others, so each can be read bottom-up."""
    assert cycles(import_graph()) == []


def test_the_checks_see_a_cycle_and_a_climbing_arrow() -> None:
    """The cycle finder is not blind: a planted circle is found, a chain is not."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    assert "api" not in ALLOWED["workers"] and "api" not in ALLOWED["models"]
