"""The package's import graph: no cycles, and dependencies pointing one way."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import wiseflow

ROOT = Path(wiseflow.__file__).parent
CONTRACT = {
    "_record",
    "_plugin",
    "_context",
    "_errors",
    "_manifest",
    "_interface",
    "_config",
    "_toolkit",
    "_version",
}
HOST_ONLY = (
    "_manager",
    "_handle",
    "_discovery",
    "_resolve",
    "_pipeline",
    "_cli",
    "_store",
    "_check",
)


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, *, top_level_only: bool) -> set[str]:
    """wiseflow modules imported by ``path`` (at import time only, if asked)."""
    tree = ast.parse(path.read_text())
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("wiseflow"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.startswith("wiseflow"):
                found.add(target)
                for alias in node.names:
                    candidate = f"{target}.{alias.name}"
                    if (ROOT.parent / candidate.replace(".", "/")).with_suffix(".py").exists() or (
                        ROOT.parent / candidate.replace(".", "/") / "__init__.py"
                    ).exists():
                        found.add(candidate)
    found.discard(me)
    return found


def sources() -> list[Path]:
    return sorted(ROOT.rglob("*.py"))


def test_no_import_cycles_at_import_time() -> None:
    """Module-level imports inside wiseflow form no cycle (the original had loader <-> base)."""
    graph: dict[str, set[str]] = {}
    for path in sources():
        name = module_name(path)
        # a package imports its parent implicitly; the parent importing a child is not a cycle
        graph[name] = {
            m for m in imports(path, top_level_only=True) if not name.startswith(m + ".")
        }
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError with the cycle


def test_contract_modules_never_reach_the_host() -> None:
    """The plugin contract (what sandbox workers import) never imports the manager side."""
    for path in sources():
        name = module_name(path).removeprefix("wiseflow.")
        if name not in CONTRACT:
            continue
        for target in imports(path, top_level_only=False):
            short = target.removeprefix("wiseflow.")
            assert not short.startswith(HOST_ONLY), f"{name} imports {target}"


def test_importing_wiseflow_does_not_load_the_host() -> None:
    """`import wiseflow` (as plugin code and workers do) leaves the manager unloaded."""
    import subprocess
    import sys

    code = "import sys, wiseflow; print(sorted(m for m in sys.modules if m.startswith('wiseflow')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = out.stdout
    for host in HOST_ONLY:
        assert f"wiseflow.{host}" not in loaded, loaded
