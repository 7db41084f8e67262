"""Checks the code layout that the restructure (issue 11) set, and prints its figures.

- no import circle among the project's modules (matcher/, api/);
- no module longer than MAX_MODULE_LINES lines;
- no function above MAX_COMPLEXITY in cyclomatic complexity (radon);
- the engine (matcher/) imports no web or database code, so it runs and tests without a server.

Run by `make check`, and so by CI. Exits 1 when a limit is broken.

Import edges come from the source (ast), every `import` and `from … import` anywhere in a module,
including those inside functions: a deferred import still closes a loop at run time. Imports under
`if TYPE_CHECKING:` are left out, since they never run. `from pkg import name` counts as an import
of `pkg.name` where that is a module, and of `pkg` otherwise; the implicit import of a parent
package's `__init__` is not counted, so a package that imports its own submodules is no circle.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

from radon.complexity import cc_visit
from radon.visitors import Class, Function

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("matcher", "api")
EXCLUDED = ("api/migrations/versions",)  # generated-style migration scripts, frozen once released
MAX_MODULE_LINES = 450
MAX_COMPLEXITY = 15
ENGINE_MUST_NOT_IMPORT = ("api", "fastapi", "starlette", "uvicorn", "sqlmodel", "sqlalchemy", "alembic", "psycopg")


def project_modules() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if any(relative.as_posix().startswith(prefix) for prefix in EXCLUDED):
                continue
            parts = list(relative.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _is_type_checking_block(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    stack = [tree]
    while stack:
        node = stack.pop()
        if _is_type_checking_block(node):
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _base_of(module: str, path: Path, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    package = package[: len(package) - (node.level - 1)]
    return ".".join(package + ([node.module] if node.module else []))


def imported_names(module: str, path: Path, known: set[str]) -> set[str]:
    """Every module name `module` imports, the project's and libraries' alike."""
    targets: set[str] = set()
    for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        base = _base_of(module, path, node)
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            targets.add(submodule if submodule in known else base)
    return targets


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """The project's modules that `module` imports."""
    return {t for t in imported_names(module, path, known) if t in known and t != module}


def engine_layer_breaches(modules: dict[str, Path]) -> list[str]:
    breaches = []
    for name, path in modules.items():
        if name.split(".")[0] != "matcher":
            continue
        for target in sorted(imported_names(name, path, set(modules))):
            if target.split(".")[0] in ENGINE_MUST_NOT_IMPORT:
                breaches.append(f"{name} imports {target}")
    return breaches


def functions_of(blocks: list[Function | Class]) -> Iterator[Function]:
    """Every function, method and closure. radon lists methods beside their class already; a class's
    own figure is an aggregate, not a function's, so classes are skipped."""
    for block in blocks:
        if isinstance(block, Function):
            yield block
            yield from functions_of(list(block.closures))


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return circles


def main() -> int:
    modules = project_modules()
    graph = {name: imports_of(name, path, set(modules)) for name, path in modules.items()}
    circles = import_circles(graph)
    breaches = engine_layer_breaches(modules)
    lengths = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in modules.items()}
    blocks = [(block.complexity, f"{name}:{block.lineno} {block.fullname}")
              for name, path in modules.items()
              for block in functions_of(cc_visit(path.read_text(encoding="utf-8")))]
    longest = sorted(lengths.items(), key=lambda item: -item[1])[:5]
    most_complex = sorted(blocks, reverse=True)[:5]
    edges = sum(len(targets) for targets in graph.values())

    print(f"modules: {len(modules)}, import edges: {edges}, import circles: {len(circles)}")
    for circle in circles:
        print("  circle: " + " ↔ ".join(circle))
    print(f"engine modules importing web or database code: {len(breaches)}")
    for breach in breaches:
        print(f"  {breach}")
    print(f"longest modules (limit {MAX_MODULE_LINES} lines): "
          + ", ".join(f"{name} {count}" for name, count in longest))
    print(f"most complex functions (limit {MAX_COMPLEXITY}): "
          + ", ".join(f"{where} {score}" for score, where in most_complex))

    too_long = [name for name, count in lengths.items() if count > MAX_MODULE_LINES]
    too_complex = [where for score, where in blocks if score > MAX_COMPLEXITY]
    for name in too_long:
        print(f"  too long: {name} ({lengths[name]} lines)")
    for where in too_complex:
        print(f"  too complex: {where}")
    return 1 if circles or breaches or too_long or too_complex else 0


if __name__ == "__main__":
    sys.exit(main())
