"""The rooms and the one way between them (README, "Layout").

Every import of our packages is read from the source (``ast``: imports at the top, inside
functions and under ``TYPE_CHECKING`` alike) and checked: no two modules reach each other through
imports, and no import runs against the flow ``api``/``cli`` → ``services`` → ``geo``, ``store``,
``exchange``, ``maps``.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("geo", "store", "exchange", "maps", "services", "api", "cli", "demo")

#: What a room may not import: our packages, and outside libraries by their top-level name.
FORBIDDEN = {
    "geo": {"store", "exchange", "maps", "services", "api", "cli", "demo"},
    "store": {"exchange", "maps", "services", "api", "cli", "demo"},
    "exchange": {"maps", "services", "api", "cli", "demo"},
    "maps": {"services", "api", "cli", "demo"},
    "services": {"api", "cli", "fastapi", "starlette", "argparse", "uvicorn"},
    "api": {"cli"},
}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "node_modules" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _imported(name: str, path: Path) -> set[str]:
    """The modules ``name`` imports (ours resolved to modules, outside ones by their full name)."""
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                # ``from api import plans`` names the module api.plans; ``from api.x import y``, api.x.
                candidate = f"{module}.{alias.name}"
                out.add(candidate if candidate in MODULES else module)
    return out


@functools.cache
def imports() -> dict[str, set[str]]:
    """What every module imports (read once, when a test first asks, not at collection)."""
    return {name: _imported(name, path) for name, path in MODULES.items()}


def _ours(names: set[str]) -> set[str]:
    return {n for n in names if n in MODULES and n != ""}


def test_the_walk_finds_the_rooms():
    assert {name.split(".")[0] for name in MODULES} == set(PACKAGES)
    assert "api.app" in MODULES and "services.snapshot" in MODULES and "cli.main" in MODULES
    # The walk sees imports inside functions too (the command line imports lazily).
    assert _ours(imports()["cli.main"])


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of ``graph``: every one of two or more is a circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return circles


def test_the_circle_finder_finds_circles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert _circles(graph) == [["a", "b", "c"]]
    assert _circles({"a": {"b"}, "b": set()}) == []


def test_no_module_reaches_itself_through_imports():
    graph = {name: _ours(imports()[name]) - {name} for name in MODULES}
    circles = _circles(graph)
    assert not circles, f"modules that import each other (one idea in two files?): {circles}"


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_imports_run_one_way(room):
    against = []
    for name, imported in imports().items():
        if name.split(".")[0] != room:
            continue
        for target in imported:
            top = target.split(".")[0]
            if top in FORBIDDEN[room]:
                against.append(f"{name} imports {target}")
    assert not against, f"imports against the flow from {room}/: {sorted(against)}"


def test_the_walk_reads_imports_inside_functions(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from fastapi import Request\n    from services import plans\n")
    assert {"fastapi", "services.plans"} <= _imported("services.probe", probe)
