"""The package's import graph: no cycles, and dependencies pointing one way."""

from __future__ import annotations

import ast
import graphlib
import sys
from collections.abc import Iterator
from pathlib import Path

import wiseflow

ROOT = Path(wiseflow.__file__).parent
CONTRACT = {
    "_contract._record",
    "_contract._fields",  # the record's per-field checks
    "_contract._plugin",
    "_contract._context",
    "_contract._errors",
    "_contract._manifest",
    "_contract._interface",
    "_contract._config",
    "_contract._toolkit",
    "_contract._version",
}
# What the sandbox worker may load besides the contract: the wire protocol (frames, their
# salvage and their size checks), its own confinement, and the loading of plugin code.
WORKER_PROTOCOL = {
    "_sandbox._protocol",
    "_sandbox._pipes",  # the channel's pipe form (host and worker)
    "_sandbox._spin",  # how each side waits for a frame (host and worker)
    "_sandbox._messages",
    "_sandbox._salvage",
    "_sandbox._peek",
}
WORKER_RUNTIME = {
    "_sandbox._worker",
    "_sandbox._mailbox",  # the worker's end of the channel, shared by its threads
    "_sandbox._ipc",  # the plugin's capability backend and log handler, over the channel
    "_sandbox._monitor",  # the audit hook reporting what the plugin attempts (telemetry)
    "_contract._instance",  # the plugin-instance core, shared with the in-process runner
    "_contract._verdict",  # whose failure it is (the plugin's or the host's)
    "_sandbox._confine",
    "_sandbox._landlock",
    "_sandbox._seccomp",
    "_sandbox._sys",
    "_contract._loader",
    "_contract._integrity",
    "_contract._suggest",
    # original-API plugins (SPEC §16): the adapter, and the manifest key read to pick it
    "_contract._legacy",
    "_contract._toml",
}
# What sits above the pipeline engine: it builds and hands the engine its stages.
ABOVE = (
    "_host._manager",
    "_host._transitions",
    "_host._assembly",
    "_host._gate",
    "_host._catalog",
    "_host._registry",
    "_run._run",
    "_run._prerun",
    "_cli",
    "_host._check",
)
HOST_ONLY = (
    "_host._manager",
    "_host._transitions",
    "_repo",
    "_host._handle",
    "_host._typed_calls",
    "_discovery",
    "_resolve",
    "_pipeline",
    "_cli",
    "_store",
    "_host._check",
    "_host._assembly",
    "_host._gate",
    "_host._catalog",
    "_host._registry",
    "_run._run",
    "_run._prerun",
)


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _walk(nodes: list[ast.stmt] | list[ast.AST]) -> Iterator[ast.AST]:
    """Every node under ``nodes``, except what ``if TYPE_CHECKING:`` guards (never run)."""
    for node in nodes:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from _walk(node.orelse)
            continue
        yield node
        yield from _walk(list(ast.iter_child_nodes(node)))


def _is_module(dotted: str) -> bool:
    path = ROOT.parent / dotted.replace(".", "/")
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def imports(path: Path, *, top_level_only: bool) -> set[str]:
    """wiseflow modules imported by ``path`` (at import time only, if asked; otherwise
    also inside functions); imports under ``if TYPE_CHECKING:`` never count."""
    tree = ast.parse(path.read_text())
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()
    nodes = [n for n in tree.body if not _type_checking(n)] if top_level_only else _walk(tree.body)
    for node in nodes:
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
                found.update(
                    f"{target}.{a.name}" for a in node.names if _is_module(f"{target}.{a.name}")
                )
    found.discard(me)
    return found


def _type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _within(name: str, modules: tuple[str, ...]) -> bool:
    """``name`` is one of ``modules`` or inside one of them (a package)."""
    return any(name == m or name.startswith(m + ".") for m in modules)


def third_party(path: Path) -> set[str]:
    """Top-level names of the non-wiseflow, non-stdlib modules ``path`` imports anywhere."""
    found: set[str] = set()
    for node in _walk(ast.parse(path.read_text()).body):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        found.update(n.split(".")[0] for n in names)
    return {n for n in found if n and n != "wiseflow" and n not in sys.stdlib_module_names}


def graph(*, top_level_only: bool) -> dict[str, set[str]]:
    """Module -> the wiseflow modules it imports (a package importing its parent is implied,
    and the parent importing a child is not a cycle)."""
    out: dict[str, set[str]] = {}
    for path in sources():
        name = module_name(path)
        out[name] = {
            m for m in imports(path, top_level_only=top_level_only)
            if not name.startswith(m + ".")
        }  # fmt: skip
    return out


def reach(start: str, edges: dict[str, set[str]]) -> set[str]:
    """Every module ``start`` imports, directly or through others, at any level."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen or name not in edges:
            continue
        seen.add(name)
        todo.extend(edges[name])
    return seen


def sources() -> list[Path]:
    return sorted(ROOT.rglob("*.py"))


def test_no_import_cycles_at_import_time() -> None:
    """Module-level imports inside wiseflow form no cycle (the original had loader <-> base)."""
    graphlib.TopologicalSorter(graph(top_level_only=True)).prepare()  # CycleError names it


def test_no_import_cycles_at_any_level() -> None:
    """Imports inside functions form no cycle either (the manager and the assembly of its
    instances used to import each other)."""
    graphlib.TopologicalSorter(graph(top_level_only=False)).prepare()


def test_the_pipeline_never_imports_the_manager() -> None:
    """The engine runs handles it is given: nothing under ``_pipeline`` reaches the manager,
    the assembly of instances, the run API or the CLI, at any level."""
    edges = graph(top_level_only=False)
    for name in edges:
        if not name.startswith("wiseflow._pipeline"):
            continue
        bad = {m for m in reach(name, edges) if _within(m.removeprefix("wiseflow."), ABOVE)}
        assert not bad, f"{name} reaches {sorted(bad)}"


def test_the_sandbox_worker_imports_only_the_contract_and_the_protocol() -> None:
    """A worker process loads the plugin contract, the wire protocol, its own confinement
    and plugin loading, and nothing else of wiseflow; of third-party code, msgspec only."""
    edges = graph(top_level_only=False)
    loaded = reach("wiseflow._sandbox._worker", edges)
    allowed = CONTRACT | WORKER_PROTOCOL | WORKER_RUNTIME
    # a package of the contract (``_errors``, ``_toolkit``) brings its own submodules
    extra = sorted(m for m in loaded if not _within(m.removeprefix("wiseflow."), tuple(allowed)))
    assert not extra, f"the sandbox worker imports {extra}"
    for name in loaded:
        path = ROOT.parent / name.replace(".", "/")
        path = path.with_suffix(".py") if path.with_suffix(".py").exists() else path / "__init__.py"
        assert third_party(path) <= {"msgspec"}, f"{name} imports {third_party(path)}"


def test_contract_modules_never_reach_the_host() -> None:
    """The plugin contract (what sandbox workers import) never imports the manager side."""
    for path in sources():
        name = module_name(path).removeprefix("wiseflow.")
        if not _within(name, tuple(CONTRACT)):
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
