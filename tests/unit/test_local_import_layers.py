"""Layers point one way (issue 19): in `local/` no module imports, even late inside a function, a
module that imports it back (it had base ↔ seed); and push/ imports nothing from sync/ (it had
push/failures.py → sync/report.py). Imports under `if TYPE_CHECKING:` never run and are left out."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "local"
PACKAGE = ROOT / "shared" / "sos_wiz_sync"


def module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import node, at any depth, except those inside `if TYPE_CHECKING:`."""
    found, stack = [], [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return found


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module → the modules of `package` it imports (a package import counts as its __init__)."""
    paths = {module_name(path, package): path for path in package.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in runtime_imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                bases = [alias.name for alias in node.names]
            else:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level else ""
                base = ".".join(filter(None, (anchor, node.module)))
                # `from .pkg import module` names a module; `from .module import name` does not
                bases = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            targets.update(b for b in bases if b in paths and b != name)
        graph[name] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, …, a], or None (depth-first search; `path` is the open chain)."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                return path[path.index(nxt):] + [nxt]
            if nxt not in done and (cycle := visit(nxt, path + [nxt])):
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        if start not in done and (cycle := visit(start, [start])):
            return cycle
    return None


def test_find_cycle_sees_a_circle_and_a_clean_graph():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_runtime_imports_include_late_imports_and_leave_out_type_checking_ones():
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .x import X\n"
                     "def f():\n    from .y import y\n")
    assert [node.module for node in runtime_imports(tree)] == ["y", "typing"]


def test_emulators_base_and_seed_do_not_import_each_other():
    graph = import_graph(LOCAL)
    assert "local.emulators.seed" in graph["local.emulators.base"]  # the graph sees real edges
    assert "local.emulators.base" not in graph["local.emulators.seed"]


def test_local_has_no_import_cycle():
    assert find_cycle(import_graph(LOCAL)) is None


def test_push_imports_nothing_from_sync():
    graph = import_graph(PACKAGE)
    assert "sos_wiz_sync.clients.http" in graph["sos_wiz_sync.push.failures"]  # the graph sees real edges
    upward = {(module, target) for module, targets in graph.items() if module.startswith("sos_wiz_sync.push")
              for target in targets if target.startswith("sos_wiz_sync.sync")}
    assert upward == set()
