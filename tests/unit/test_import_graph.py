"""The backend's modules import each other without a circle (ARCHITECTURE.md: layers point downward).

The graph is read from the source (ast), so it is the same whatever was imported before: every
`import backend.x` / `from backend.x import y` / relative import, at module level or inside a function
(a lazy import inside a function still ties the two modules together), except those under
`if TYPE_CHECKING:` (never run). A package's `__init__` counts as the package.
"""

from __future__ import annotations

import ast
from pathlib import Path

from backend.core.config import PROJECT_ROOT

BACKEND = PROJECT_ROOT / "backend"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """The backend modules `path` imports (the longest known prefix of each imported name)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def resolve(target: str) -> None:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking_only(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                resolve(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:  # `from backend.core import config` imports a module
                resolve(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return found


def import_graph() -> dict[str, set[str]]:
    files = sorted(BACKEND.rglob("*.py"))
    known = {module_name(p) for p in files}
    return {module_name(p): imported_modules(p, known) for p in files}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return out


def test_the_graph_is_read() -> None:
    graph = import_graph()
    assert {"backend.core.cpu", "backend.media.audio"} <= graph["backend.engine.listener"]  # module level
    assert "backend.core.config" in graph["backend.app.main"]
    assert "backend.core.config" not in graph["backend.core.redis"]  # only under TYPE_CHECKING


def test_a_circle_is_found() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_in_a_circle() -> None:
    found = cycles(import_graph())
    assert not found, "modules importing each other (directly or round a loop):\n" + "\n".join(
        " <-> ".join(group) for group in found
    )


#: The foundation layers and what each may import from the backend (docs/ARCHITECTURE.md): infrastructure
#: knows nothing above it; provider machinery and the audio/text utilities stand on it alone; the model
#: tooling (download_models.py) stands on nothing, so it runs before the app's packages are importable.
LAYERS = {
    "backend.core": {"backend.core"},
    "backend.providers": {"backend.core", "backend.providers"},
    "backend.media": {"backend.core", "backend.media"},
    "backend.models": {"backend.models"},
}


def test_the_foundation_layers_import_only_downward() -> None:
    graph = import_graph()
    wrong = [
        f"{module} imports {target}"
        for module, targets in sorted(graph.items())
        for layer, allowed in LAYERS.items()
        if module == layer or module.startswith(layer + ".")
        for target in sorted(targets)
        if not any(target == a or target.startswith(a + ".") for a in allowed)
    ]
    assert not wrong, "\n".join(wrong)
