"""Imports between mira's top-level packages: the pairs that import each other, and the cycles.

    python tools/import_graph.py            # pairs and cycles
    python tools/import_graph.py --edges    # each pair's imports, file:line
    python tools/import_graph.py PATH       # another tree's mira/ (say, an older checkout)

Every import counts: module-level, function-level ("fn") and those under `if TYPE_CHECKING:`
("type"). A top-level package is a directory of mira/ (`persons`) or a module (`legacy_lan`).
The rule they are checked against is in docs/architecture.md ("The rule for cross-domain
calls"). The cycles are the strongly connected components of the package graph.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "mira"


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[str, int, str]]:
    """(imported module, line, "" | "fn" | "type") for each import in the tree."""

    def absolute(node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        return ".".join(base + ([node.module] if node.module else []))

    def walk(node: ast.AST, how: str) -> Iterator[tuple[str, int, str]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, child.lineno, how
            elif isinstance(child, ast.ImportFrom):
                target = absolute(child)
                if target == "mira":  # from mira import audit: the package mira.audit
                    for alias in child.names:
                        yield f"mira.{alias.name}", child.lineno, how
                else:
                    yield target, child.lineno, how
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                yield from walk(child, how or "fn")
            elif isinstance(child, ast.If) and _is_type_checking(child):
                yield from walk(child, how or "type")
            else:
                yield from walk(child, how)

    yield from walk(tree, "")


def edges_of(root: Path) -> dict[tuple[str, str], list[str]]:
    """(importing package, imported package) -> the imports, as "file:line (how) -> module"."""
    tops = {
        p.name.removesuffix(".py")
        for p in root.iterdir()
        if (p.suffix == ".py" and p.name != "__init__.py") or (p / "__init__.py").exists()
    }
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts == ("__init__.py",):
            continue
        source = relative.parts[0].removesuffix(".py")
        parts = ["mira", *relative.with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        module = ".".join(parts[:-1] if is_package else parts)
        for target, line, how in imports(ast.parse(path.read_text()), module, is_package):
            names = target.split(".")
            if names[0] != "mira" or len(names) < 2 or names[1] not in tops:
                continue
            if names[1] != source:
                where = f"mira/{relative}:{line}{f' ({how})' if how else ''} -> {target}"
                edges[(source, names[1])].append(where)
    return edges


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one package (Tarjan), largest first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            found.append(sorted(component))

    for node in sorted(set(graph) | {n for targets in graph.values() for n in targets}):
        if node not in index:
            visit(node)
    return sorted((c for c in found if len(c) > 1), key=lambda c: (-len(c), c))


def main(argv: list[str]) -> None:
    paths = [a for a in argv if not a.startswith("--")]
    root = Path(paths[0]).resolve() if paths else ROOT
    edges = edges_of(root)
    graph: dict[str, set[str]] = defaultdict(set)
    for source, target in edges:
        graph[source].add(target)
    pairs = sorted({tuple(sorted(e)) for e in edges if (e[1], e[0]) in edges})
    print(f"{len(edges)} package edges")
    print(f"two-way pairs ({len(pairs)}):")
    for a, b in pairs:
        print(f"  {a} <-> {b}")
        if "--edges" in argv:
            for where in edges[(a, b)] + edges[(b, a)]:
                print(f"      {where}")
    found = cycles(graph)
    print(f"cycles (strongly connected components, {len(found)}):")
    for component in found:
        print(f"  [{len(component)}] {' '.join(component)}")


if __name__ == "__main__":
    main(sys.argv[1:])
