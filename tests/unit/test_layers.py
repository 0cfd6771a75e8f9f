"""Dependencies point one way (DESIGN section 2): no package of app/ imports one that imports it
back, and the domain imports no other part of app/ and nothing that does I/O.

Read from the source with ``ast``, so an import inside a function or under TYPE_CHECKING counts.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, relative imports resolved."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def package_of(module: str) -> str:
    """The top of app/ a module belongs to: ``app.reservations``, ``app.runtime``..."""
    return ".".join(module.split(".")[:2])


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in APP.rglob("*.py"):
        source = package_of(module_name(path))
        for target in imports_of(path):
            if target.startswith("app.") and package_of(target) != source:
                graph[source].add(package_of(target))
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_package_of_app_imports_one_that_imports_it_back() -> None:
    assert cycles(package_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"app.a": {"app.b"}, "app.b": {"app.c"}, "app.c": {"app.a"}, "app.d": {"app.a"}}) == [
        ["app.a", "app.b", "app.c"]
    ]


# Libraries that reach a database, the network or the web framework.
INPUT_OUTPUT = {
    "sqlalchemy",
    "asyncpg",
    "aiosqlite",
    "alembic",
    "litestar",
    "httpx",
    "uvicorn",
    "apscheduler",
}


def test_the_domain_is_pure() -> None:
    for path in (APP / "domain").rglob("*.py"):
        for target in imports_of(path):
            top = target.split(".")[0]
            assert top not in INPUT_OUTPUT, (path.name, target)
            assert top != "app" or target.startswith("app.domain"), (path.name, target)
