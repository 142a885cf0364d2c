"""The layer's modules form no import cycle, and its bounded contexts depend on each other one way.

Every import counts — module level, inside functions, and `lazy_import("…")` — except those under
`if TYPE_CHECKING:`, which never run. So a cycle cannot hide behind a function-level import.
"""

from __future__ import annotations

import ast
from pathlib import Path

LAYER = Path(__file__).resolve().parents[2] / "layers" / "common"
PACKAGE = LAYER / "switchboard"
# Shared kernel: modules every context may use (they import no context).
KERNEL = {
    "aws",
    "clock",
    "config",
    "errors",
    "ids",
    "lazy",
    "netguard",
    "objects",
    "queues",
    "secrets",
    "tenancy",
    "store",
    "dialects",
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(LAYER).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, modules: set[str]) -> set[str]:
    found: set[str] = set()

    def resolve(name: str) -> None:
        # `from switchboard.x import y` names module switchboard.x.y when that is a module.
        while name and name not in modules:
            name = name.rpartition(".")[0]
        if name:
            found.add(name)

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("switchboard"):
                    resolve(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("switchboard"):
            for alias in node.names:
                resolve(f"{node.module}.{alias.name}")
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", None) == "lazy_import"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            resolve(str(node.args[0].value))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    modules = set(paths)
    graph = {}
    for name, path in paths.items():
        edges = _imports(ast.parse(path.read_text(encoding="utf-8")), modules)
        # A package's __init__ is not a dependency of its own modules' imports of siblings.
        graph[name] = {edge for edge in edges if edge != name and not name.startswith(edge + ".")}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for edge in sorted(graph.get(node, ())):
            if state.get(edge) == 1:
                return [*stack[stack.index(edge) :], edge]
            if edge not in state and (found := visit(edge)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def _context(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] not in KERNEL and parts[1] != "wiring" else None


def test_no_import_cycle_between_modules():
    cycle = _cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_bounded_contexts_depend_on_each_other_one_way():
    contexts: dict[str, set[str]] = {}
    for module, edges in import_graph().items():
        source = _context(module)
        if source is None:
            continue
        contexts.setdefault(source, set())
        for edge in edges:
            target = _context(edge)
            if target is not None and target != source:
                contexts[source].add(target)
    cycle = _cycle(contexts)
    assert cycle is None, "contexts depend on each other in a cycle: " + " -> ".join(cycle or [])


def test_the_kernel_imports_no_context_and_no_context_imports_the_wiring():
    for module, edges in import_graph().items():
        if module == "switchboard.wiring":
            continue
        assert "switchboard.wiring" not in edges, f"{module} imports the composition root"
        if _context(module) is None and module != "switchboard":
            contexts = sorted(edge for edge in edges if _context(edge) is not None)
            assert not contexts, f"shared module {module} imports the contexts {contexts}"


def test_the_graph_sees_imports_hidden_in_functions():
    # The checker itself: a function-level import counts, a TYPE_CHECKING one does not.
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from switchboard import clock\n"
        "def f():\n    from switchboard import ids\n"
    )
    assert _imports(ast.parse(source), {"switchboard.clock", "switchboard.ids"}) == {"switchboard.ids"}
