"""The package's import structure: no cycles, and each layer imports only what it may.

Every module of ``bot`` is read with :mod:`ast` (nothing is imported or run), and every import
counts: at module level, inside functions and methods, and under ``if TYPE_CHECKING:`` (an import
only the type checker follows still ties the two modules together, and it is the usual way a
cycle hides). Relative imports are resolved against the importing module's package.

The layers (see the developers' guide):

* ``bot.core`` is the pure decision core: it imports nothing of ``bot`` outside ``bot.core`` and
  no I/O library, and does not read the environment;
* ``bot.store`` and ``bot.github`` import nothing from ``bot.app``, ``bot.cli`` or ``bot.testing``;
* ``bot.app`` (the edges) imports nothing from ``bot.cli`` or ``bot.testing``;
* only ``bot.cli`` imports ``bot.cli`` (and ``bot.__main__``, whose one job is to hand
  ``python -m bot`` over to it);
* only ``bot.cli`` (the demo) imports ``bot.testing``; the tests and benchmarks, outside the
  package, may too.
"""

from __future__ import annotations

import ast
import itertools
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "bot"
LAYERS = ("bot.core", "bot.store", "bot.github", "bot.app", "bot.cli", "bot.testing")
# What the pure core must never touch: the network, databases, processes, the event loop.
IO_MODULES = (
    "aiohttp",
    "asyncpg",
    "sqlite3",
    "gidgethub.aiohttp",
    "socket",
    "asyncio",
    "subprocess",
    "http.client",
    "urllib.request",
    "requests",
    "httpx",
)
ENTRY_POINT = "bot.__main__"


# reading the package ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    path: Path
    line: int
    type_checking: bool = False
    in_function: bool = False

    def where(self) -> str:
        try:
            shown = self.path.relative_to(ROOT)
        except ValueError:
            shown = self.path
        how = [
            text
            for flag, text in (
                (self.type_checking, "under TYPE_CHECKING"),
                (self.in_function, "inside a function"),
            )
            if flag
        ]
        return f"{shown}:{self.line}" + (f" ({', '.join(how)})" if how else "")


def modules_of(package: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file of the package (``__init__`` = package)."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package.parent).with_suffix("")
        parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
        if any(not part.isidentifier() for part in parts):
            continue  # not importable (a stray file such as "my script.py")
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` names, relative levels resolved."""
    if not node.level:
        return node.module or ""
    package = importer.split(".") if is_package else importer.split(".")[:-1]
    if node.level - 1 > len(package) - 1:
        raise ValueError(
            f"{importer}: relative import goes above the top-level package (level {node.level})"
        )
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_in(module: str, path: Path, known: Iterable[str]) -> list[Import]:
    """Every import statement of one module, with the module each one loads."""
    known = set(known)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: list[Import] = []

    def visit(node: ast.AST, type_checking: bool, in_function: bool) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append(
                    Import(module, alias.name, path, node.lineno, type_checking, in_function)
                )
        elif isinstance(node, ast.ImportFrom):
            base = resolve(module, is_package, node)
            for alias in node.names:
                # ``from bot.app import worker`` loads the submodule bot.app.worker
                candidate = f"{base}.{alias.name}" if base else alias.name
                target = candidate if candidate in known else base
                found.append(Import(module, target, path, node.lineno, type_checking, in_function))
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, True, in_function)
            for child in node.orelse:
                visit(child, type_checking, in_function)
            return
        inner = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, type_checking, inner)

    visit(tree, False, False)
    return found


def environment_reads(module: str, path: Path) -> list[Import]:
    """``os.environ``, ``os.getenv`` and ``from os import environ/getenv`` in one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    reads = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "putenv"):
            if isinstance(node.value, ast.Name) and node.value.id == "os":
                reads.append(Import(module, f"os.{node.attr}", path, node.lineno))
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            for alias in node.names:
                if alias.name in ("environ", "getenv", "putenv"):
                    reads.append(Import(module, f"os.{alias.name}", path, node.lineno))
    return reads


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def owner(name: str, known: Iterable[str]) -> str | None:
    """The module of the package an imported name lands in (longest known prefix), if any."""
    best = None
    for candidate in known:
        if within(name, candidate) and (best is None or len(candidate) > len(best)):
            best = candidate
    return best


@dataclass(repr=False)
class Package:
    modules: dict[str, Path]
    imports: list[Import]

    def __repr__(self) -> str:
        return f"<Package: {len(self.modules)} modules, {len(self.imports)} import statements>"

    def internal(self) -> list[Import]:
        """Imports of one of the package's modules, retargeted to that module."""
        edges = []
        for imp in self.imports:
            target = owner(imp.imported, self.modules)
            if target is not None:
                edges.append(
                    Import(
                        imp.importer, target, imp.path, imp.line, imp.type_checking, imp.in_function
                    )
                )
        return edges

    def graph(self) -> dict[str, dict[str, Import]]:
        edges: dict[str, dict[str, Import]] = {name: {} for name in self.modules}
        for imp in self.internal():
            edges[imp.importer].setdefault(imp.imported, imp)
        return edges


def read_package(package: Path = PACKAGE) -> Package:
    modules = modules_of(package)
    imports = [imp for name, path in modules.items() for imp in imports_in(name, path, modules)]
    return Package(modules, imports)


@pytest.fixture(scope="module")
def bot() -> Package:
    return read_package()


# cycles ----------------------------------------------------------------------------------------


def strongly_connected(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively; components with a cycle only (size > 1 or a self-import)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    nodes = set(graph) | {t for targets in graph.values() for t in targets}
    for start in sorted(nodes):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph.get(node, ()):
                    components.append(sorted(component))
    return sorted(components)


def shortest_cycle(graph: Mapping[str, Iterable[str]], start: str, members: set[str]) -> list[str]:
    """The shortest import chain from ``start`` back to itself inside one component."""
    previous: dict[str, str] = {}
    queue = deque([start])
    seen = {start}
    while queue:
        node = queue.popleft()
        for child in sorted(graph.get(node, ())):
            if child == start:
                chain = [node]
                while chain[-1] != start:
                    chain.append(previous[chain[-1]])
                return [start, *reversed(chain[:-1]), start] if node != start else [start, start]
            if child in members and child not in seen:
                seen.add(child)
                previous[child] = node
                queue.append(child)
    raise AssertionError(f"{start} is not on a cycle")


def cycles(graph: Mapping[str, Mapping[str, object] | Iterable[str]]) -> list[list[str]]:
    """One readable chain per group of modules that import each other, e.g. [a, b, a]."""
    return [
        shortest_cycle(graph, component[0], set(component))
        for component in strongly_connected(graph)
    ]


def describe_cycle(chain: list[str], graph: Mapping[str, Mapping[str, Import]]) -> str:
    steps = [chain[0]]
    for here, there in itertools.pairwise(chain):
        steps.append(f"  -> {there}    [{graph[here][there].where()}]")
    return "\n".join(steps)


# checks on the real package ---------------------------------------------------------------------


def test_the_package_has_every_layer(bot: Package):
    """A renamed or missing layer must not make the rules below pass by matching nothing."""
    assert (PACKAGE / "core" / "__init__.py").is_file(), f"bot/core is not found under {PACKAGE}"
    for layer in LAYERS:
        inside = [name for name in bot.modules if within(name, layer) and name != layer]
        assert inside, (
            f"{layer} has no modules under {PACKAGE}; the layer rules would check nothing"
        )
    assert len(bot.internal()) > 50, (
        "the scanner found almost no imports between the package's modules"
    )


def test_no_module_imports_another_in_a_circle(bot: Package):
    graph = bot.graph()
    reports = []
    for component in strongly_connected(graph):
        members = set(component)
        chains: list[list[str]] = []
        for start in component:  # the shortest circle through each member, each circle once
            chain = shortest_cycle(graph, start, members)
            if not any(
                set(itertools.pairwise(chain)) == set(itertools.pairwise(c)) for c in chains
            ):
                chains.append(chain)
        reports.append(
            f"{len(component)} modules import each other: {', '.join(component)}\n"
            + "\n".join(describe_cycle(chain, graph) for chain in chains)
        )
    assert not reports, (
        "modules that import each other in a circle (break each circle):\n\n" + "\n\n".join(reports)
    )


def violations(
    bot: Package,
    importer: str,
    forbidden: Iterable[str],
    *,
    allowed: Iterable[str] = (),
    importers_allowed: Iterable[str] = (),
) -> list[str]:
    """Imports by modules under ``importer`` of modules under ``forbidden`` (less the exceptions)."""
    forbidden, allowed, exempt = tuple(forbidden), tuple(allowed), tuple(importers_allowed)
    return sorted(
        f"{imp.where()}: {imp.importer} imports {imp.imported}"
        for imp in bot.internal()
        if within(imp.importer, importer)
        and not any(within(imp.importer, e) for e in exempt)
        and any(within(imp.imported, f) for f in forbidden)
        and not any(within(imp.imported, a) for a in allowed)
    )


def test_core_imports_nothing_of_the_package_outside_core(bot: Package):
    found = violations(bot, "bot.core", ["bot"], allowed=["bot.core"])
    assert not found, (
        "bot.core is the pure decision core; it may import only bot.core:\n" + "\n".join(found)
    )


def test_core_uses_no_io_library_and_reads_no_environment(bot: Package):
    found = sorted(
        f"{imp.where()}: {imp.importer} imports {imp.imported}"
        for imp in bot.imports
        if within(imp.importer, "bot.core") and any(within(imp.imported, io) for io in IO_MODULES)
    )
    found += sorted(
        f"{read.where()}: {read.importer} reads {read.imported}"
        for name, path in bot.modules.items()
        if within(name, "bot.core")
        for read in environment_reads(name, path)
    )
    assert not found, (
        "bot.core does no I/O and reads no settings; pass values in instead:\n" + "\n".join(found)
    )


@pytest.mark.parametrize("layer", ["bot.store", "bot.github"])
def test_store_and_github_do_not_import_the_edges_the_cli_or_the_stand_ins(
    bot: Package, layer: str
):
    found = violations(bot, layer, ["bot.app", "bot.cli", "bot.testing"])
    assert not found, f"{layer} sits below the edges:\n" + "\n".join(found)


def test_edges_do_not_import_the_cli_or_the_stand_ins(bot: Package):
    found = violations(bot, "bot.app", ["bot.cli", "bot.testing"])
    assert not found, "bot.app must not depend on commands or test stand-ins:\n" + "\n".join(found)


def test_only_the_cli_imports_the_cli(bot: Package):
    found = violations(bot, "bot", ["bot.cli"], importers_allowed=["bot.cli", ENTRY_POINT])
    assert not found, "commands are the top of the stack; nothing else imports them:\n" + "\n".join(
        found
    )


def test_only_the_cli_imports_the_stand_ins(bot: Package):
    found = violations(bot, "bot", ["bot.testing"], importers_allowed=["bot.cli", "bot.testing"])
    assert not found, (
        "bot.testing is for the demo, the tests and the benchmarks only:\n" + "\n".join(found)
    )


# the checks check ------------------------------------------------------------------------------


def test_cycle_finder_on_a_synthetic_graph():
    graph = {
        # a -> b -> c -> a, with d hanging off c
        "a": ["b"],
        "b": ["c"],
        "c": ["a", "d"],
        "d": [],
        # e <-> f
        "e": ["f"],
        "f": ["e"],
        # g imports itself
        "g": ["g"],
        # a chain, no cycle
        "h": ["i"],
        "i": ["j"],
        "j": [],
        # two cycles through k (k -> l -> k and k -> m -> l -> k); the shorter is reported
        "k": ["l", "m"],
        "l": ["k"],
        "m": ["l"],
    }
    assert strongly_connected(graph) == [["a", "b", "c"], ["e", "f"], ["g"], ["k", "l", "m"]]
    assert cycles(graph) == [["a", "b", "c", "a"], ["e", "f", "e"], ["g", "g"], ["k", "l", "k"]]
    assert cycles({"x": ["y"], "y": ["z"], "z": []}) == []
    assert cycles({}) == []


def test_cycle_report_names_the_files_and_lines(tmp_path: Path):
    pkg = tmp_path / "bot"
    (pkg / "app").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "app" / "__init__.py").write_text("")
    (pkg / "app" / "worker.py").write_text("from bot.app.reviews import ROUTER\n")
    (pkg / "app" / "reviews.py").write_text(
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from .worker import Worker\n"
    )
    found = read_package(pkg)
    graph = found.graph()
    assert cycles(graph) == [["bot.app.reviews", "bot.app.worker", "bot.app.reviews"]]
    text = describe_cycle(cycles(graph)[0], graph)
    assert "-> bot.app.worker" in text and "reviews.py:4 (under TYPE_CHECKING)" in text
    assert "worker.py:1]" in text


def test_scanner_resolves_relative_hidden_and_late_imports(tmp_path: Path):
    pkg = tmp_path / "bot"
    for folder in ("core", "app/jobs", "cli", "testing"):
        (pkg / folder).mkdir(parents=True, exist_ok=True)
    for init in (
        "__init__.py",
        "core/__init__.py",
        "app/__init__.py",
        "app/jobs/__init__.py",
        "cli/__init__.py",
        "testing/__init__.py",
        "testing/fake.py",
    ):
        (pkg / init).write_text("")
    (pkg / "core" / "model.py").write_text("X = 1\n")
    (pkg / "app" / "web.py").write_text("Y = 2\n")
    (pkg / "app" / "jobs" / "outbox.py").write_text(
        "from __future__ import annotations\n"
        "import typing\n"
        "from . import sibling\n"  # bot.app.jobs.sibling does not exist: the package itself
        "from .. import web\n"  # bot.app.web
        "from ...core.model import X\n"  # bot.core.model
        "if typing.TYPE_CHECKING:\n"
        "    from bot.cli import main\n"
        "else:\n"
        "    import json\n"
        "def later():\n"
        "    import bot.testing.fake as fake\n"
        "    return fake\n"
    )
    (pkg / "cli" / "__init__.py").write_text("from ..app.jobs import outbox\n")
    (pkg / "__main__.py").write_text("from .cli import main\n")
    found = read_package(pkg)
    seen = {(i.importer, i.imported, i.type_checking, i.in_function) for i in found.imports}
    assert ("bot.app.jobs.outbox", "bot.app.jobs", False, False) in seen
    assert ("bot.app.jobs.outbox", "bot.app.web", False, False) in seen
    assert ("bot.app.jobs.outbox", "bot.core.model", False, False) in seen
    assert ("bot.app.jobs.outbox", "bot.cli", True, False) in seen
    assert ("bot.app.jobs.outbox", "json", False, False) in seen
    assert ("bot.app.jobs.outbox", "bot.testing.fake", False, True) in seen
    assert ("bot.cli", "bot.app.jobs.outbox", False, False) in seen
    assert ("bot.__main__", "bot.cli", False, False) in seen
    # ...and the rules see them: the edge imports the CLI (hidden) and a stand-in (late).
    bad = violations(found, "bot.app", ["bot.cli", "bot.testing"])
    assert sorted(line.split(": ", 1)[1] for line in bad) == [
        "bot.app.jobs.outbox imports bot.cli",
        "bot.app.jobs.outbox imports bot.testing.fake",
    ]
    assert cycles(found.graph()) == [["bot.app.jobs.outbox", "bot.cli", "bot.app.jobs.outbox"]]


def test_core_io_and_environment_checks_catch_offenders(tmp_path: Path):
    path = tmp_path / "decide.py"
    path.write_text(
        "import os\nfrom os import getenv\n\ndef f():\n    import sqlite3\n    return os.environ['X']\n"
    )
    imported = [i.imported for i in imports_in("bot.core.decide", path, [])]
    assert "sqlite3" in imported
    assert [(r.imported, r.line) for r in environment_reads("bot.core.decide", path)] == [
        ("os.getenv", 2),
        ("os.environ", 6),
    ]
