"""The import graph of ``pipeline_core`` has no cycles (issue #10): every ``import`` and
``from ... import`` in every module, at module level or inside a function, read with
``ast``, is an edge; a cycle among them fails the test and is named.

An import of ``package.module`` is an edge to that module; ``from package import name``
is an edge to ``package.name`` when that is a module, else to ``package`` itself. The
parent packages Python initialises on the way are not edges (that is how every import
works, and a package's ``__init__`` importing its submodules is not a cycle).
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "pipeline_core"


def module_files(root: Path = ROOT, package: str = PACKAGE) -> dict[str, Path]:
    """``{dotted module name: file}`` of every module of the package (``__init__`` files
    named by their package)."""
    files = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        files[".".join(parts)] = path
    return files


def _resolve(module: str, level: int, target: str | None, is_package: bool) -> str:
    """The absolute name of a (possibly relative) ``from`` import's module."""
    if level == 0:
        return target or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def import_edges(files: dict[str, Path]) -> list[tuple[str, str, int]]:
    """``(importer, imported, line)`` for every import of a package module."""
    edges = []
    for module, path in files.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(module, node.level, node.module, is_package)
                for alias in node.names:
                    name = f"{base}.{alias.name}"
                    targets.append(name if name in files else base)
            edges.extend(
                (module, target, node.lineno)
                for target in targets
                if target in files and target != module
            )
    return edges


def cycles_of(edges) -> list[list[str]]:
    """The import cycles (each as its modules in order), shortest first."""
    graph = nx.DiGraph()
    graph.add_edges_from((a, b) for a, b, _ in edges)
    return sorted(nx.simple_cycles(graph), key=len)


def test_the_package_has_no_import_cycle():
    edges = import_edges(module_files())
    assert len(edges) > 100  # the walk found the imports (a broken walk would pass vacuously)
    lines = {(a, b): n for a, b, n in edges}
    cycles = cycles_of(edges)
    shown = [
        " -> ".join(f"{a} (line {lines[(a, b)]})" for a, b in zip(c, c[1:] + c[:1]))
        for c in cycles[:5]
    ]
    assert not cycles, f"{len(cycles)} import cycle(s), e.g.:\n" + "\n".join(shown)


@pytest.mark.parametrize(
    "sources",
    [
        {"a.py": "from . import b\n", "b.py": "def f():\n    from .a import x\n"},
        {"a.py": "import pkg.b\n", "b.py": "from pkg import a\n"},
        {"a.py": "from .sub.c import y\n", "sub/__init__.py": "", "sub/c.py": "from .. import a\n"},
    ],
)
def test_the_walk_finds_a_cycle_made_on_purpose(tmp_path, sources):
    """The check itself: a package with a cycle (through a function-level import, an
    absolute import, a subpackage) is reported."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    for name, text in sources.items():
        path = tmp_path / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    files = module_files(tmp_path, "pkg")
    assert cycles_of(import_edges(files))


def test_a_package_init_importing_its_modules_is_not_a_cycle(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("from .a import f\n")
    (tmp_path / "pkg" / "a.py").write_text("from .b import g\n\ndef f():\n    pass\n")
    (tmp_path / "pkg" / "b.py").write_text("def g():\n    pass\n")
    assert not cycles_of(import_edges(module_files(tmp_path, "pkg")))
