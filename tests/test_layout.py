"""The folder tree shows the architecture, and the contract stays self-contained."""

from __future__ import annotations

import ast
from pathlib import Path

import wiseflow

ROOT = Path(wiseflow.__file__).parent
TOP = {
    "__init__",
    "__main__",
    "_cli",
    "_contract",
    "_dashboard",
    "_discovery",
    "_envs",
    "_host",
    "_migrate",
    "_pipeline",
    "_policy",
    "_ray",
    "_repo",
    "_resolve",
    "_run",
    "_sandbox",
    "_store",
    "plugins",
    "testing",
    "py.typed",
}
#: The parts, lowest first: each imports only parts before it.
LAYERS = (
    "_contract",
    "_discovery",
    "_resolve",
    "_envs",
    "_policy",
    "_repo",
    "_migrate",
    "_host",
    "_sandbox",
    "_ray",
    "_store",
    "_pipeline",
    "_run",
    "_dashboard",
    "_cli",
)
#: The one crossing: the host picks a sandbox runner at assembly (a lazy import), and the
#: sandbox runner implements the host's runner seam.
CROSSING = {("_host", "_sandbox")}


def _imports(path: Path) -> set[str]:
    """wiseflow modules ``path`` imports anywhere (``if TYPE_CHECKING:`` blocks left out)."""
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    package = parts if parts[-1] == "__init__" else parts[:-1]
    package = [p for p in package if p != "__init__"]
    found: set[str] = set()

    def walk(nodes: list[ast.stmt] | list[ast.AST]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                walk(list(node.orelse))
                continue
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package[: len(package) - node.level + 1]
                    base = ".".join([*up, node.module] if node.module else up)
                found.add(base)
                found.update(f"{base}.{a.name}" for a in node.names)
            walk(list(ast.iter_child_nodes(node)))

    walk(ast.parse(path.read_text()).body)
    return {m for m in found if m == "wiseflow" or m.startswith("wiseflow.")}


def test_the_top_level_names_the_parts_of_the_architecture() -> None:
    """src/wiseflow holds the public modules and one folder per part, nothing else."""
    entries = {p.name.removesuffix(".py") for p in ROOT.iterdir() if p.name != "__pycache__"}
    assert entries == TOP


def test_the_contract_imports_only_the_contract() -> None:
    """What plugins and workers import reaches nothing of the host (at any call depth)."""
    for path in sorted((ROOT / "_contract").rglob("*.py")):
        outside = {
            m for m in _imports(path) if not m.startswith("wiseflow._contract") and m != "wiseflow"
        }
        assert not outside, f"{path.relative_to(ROOT)} imports {sorted(outside)}"


def test_dependencies_point_down_the_layers() -> None:
    """Each part imports only the parts listed before it in LAYERS (README "Layout")."""
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).parts
        if rel[0] not in LAYERS:
            continue  # the public modules and the bundled plugins
        for module in _imports(path):
            target = module.split(".")[1] if module.count(".") else ""
            if target not in LAYERS or target == rel[0] or (rel[0], target) in CROSSING:
                continue
            assert LAYERS.index(target) < LAYERS.index(rel[0]), (
                f"{'/'.join(rel)} ({rel[0]}) imports {module} ({target}), a later layer"
            )


def test_nothing_below_the_cli_imports_it() -> None:
    """The CLI parses and prints: no other part of wiseflow imports it."""
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("_cli/") or rel == "__main__.py":
            continue
        assert not [m for m in _imports(path) if m.startswith("wiseflow._cli")], rel
