"""The package structure: no two modules of the service import each other."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Project modules `path` imports, anywhere in the file (a lazy import is still a tie)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        found |= {name for name in names if name in known}
    return found


def test_no_import_cycles() -> None:
    files = [*(ROOT / "worker").rglob("*.py"), *(ROOT / "contracts").rglob("*.py")]
    known = {module_name(p) for p in files}
    graph = {module_name(p): imports_of(p, known) - {module_name(p)} for p in files}
    # A package importing its own submodules is how packages work, not a cycle.
    for name, targets in graph.items():
        graph[name] = {t for t in targets if not t.startswith(name + ".")}
    cycles = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for target in graph[node]:
                if target == start:
                    cycles.append(" -> ".join([*trail, start]))
                elif target not in seen:
                    seen.add(target)
                    stack.append((target, [*trail, target]))
    assert cycles == []


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            # `from worker import store` imports worker.store as surely as its dotted spelling
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_describing_a_trigger_is_not_resolving_it() -> None:
    """The shim and the CLI describe triggers from the contracts; only the worker resolves."""
    edges = [*(ROOT / "worker").glob("cli*.py"), *(ROOT / "worker" / "cli").rglob("*.py")]
    for path in [*edges, *(ROOT / "worker" / "shim").rglob("*.py")]:
        assert not {m for m in imported_modules(path) if m.startswith("worker.resolvers")}, path


def test_no_regular_expression_of_the_service_runs_on_a_backtracking_engine() -> None:
    # Every pattern that sees request data, a trigger's config or a dead letter runs on RE2
    # (contracts/regex.py): linear time whatever the pattern and the text. `re` is not imported.
    offenders = []
    for path in [*(ROOT / "worker").rglob("*.py"), *(ROOT / "contracts").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            if {"re", "regex"} & set(names):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


# Declarative text a reader scans rather than follows: the trigger types' parameter specs.
LONG_BY_NATURE = {"contracts/specs.py"}
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60


def service_sources() -> list[Path]:
    return sorted([*(ROOT / "worker").rglob("*.py"), *(ROOT / "contracts").rglob("*.py")])


def test_every_module_reads_in_one_sitting() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in service_sources()
        if (lines := len(path.read_text().splitlines())) > MAX_FILE_LINES
    }
    assert {name: n for name, n in long.items() if name not in LONG_BY_NATURE} == {}


def test_every_function_fits_on_a_screen() -> None:
    long = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)"
        for path in service_sources()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (length := (node.end_lineno or node.lineno) - node.lineno + 1) > MAX_FUNCTION_LINES
    ]
    assert long == []


def test_contracts_and_the_edges_keep_their_layers() -> None:
    """contracts/ is a leaf; the resolvers know no store, broker or HTTP; nothing but the edges
    (the shim, the CLI) imports the edges."""
    for path in service_sources():
        name = module_name(path)
        imported = imported_modules(path)
        if name.startswith("contracts"):
            assert not {m for m in imported if m.startswith("worker")}, path
        if name.startswith("worker.resolvers"):
            assert not {
                m
                for m in imported
                if m.startswith(
                    ("worker.store", "worker.amqp", "asyncpg", "aio_pika", "fastapi", "redis")
                )
            }, path
        # The edges sit on top: only the role runner starts the shim, nothing imports the CLI.
        edges = {m for m in imported if m.startswith(("worker.shim", "worker.cli"))}
        if name == "worker.runtime":
            assert not {m for m in edges if m.startswith("worker.cli")}, path
        elif not name.startswith(("worker.shim", "worker.cli")):
            assert not edges, path
