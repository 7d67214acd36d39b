"""Reading original-API plugin code statically: its classes, kind, entry and metadata.

Nothing here imports or runs the code read: each module is parsed with :mod:`ast` (files
are taken as the static audit takes them: ``plugin_files``, which refuses FIFOs, huge
files, symlinked folders) and only literals are read (``ast.literal_eval`` of the
``PluginMetadata(...)`` keywords and the class attributes ``name``, ``version``,
``description``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._policy._audit._files import plugin_files

__all__ = ["LegacyClass", "Module", "read_folder", "top_level_sources"]

#: The original base classes and the kind each stands for (None: kind from the methods).
BASES: dict[str, str | None] = {
    "BasePlugin": None,
    "PluginBase": None,
    "ConnectorPlugin": "connector",
    "ProcessorPlugin": "processor",
    "AnalyzerPlugin": "analyzer",
}
_CORE = ("core.plugins", "core.plugins.base")
_KIND_METHOD = {"fetch_data": "connector", "process": "processor", "analyze": "analyzer"}
_ATTRS = ("name", "version", "description")


@dataclass
class LegacyClass:
    """One class of a module, as written (bases unresolved beyond the module)."""

    name: str
    module: str  # dotted, relative to the plugin folder
    file: Path
    line: int
    legacy_bases: list[str]  # original base names it names directly
    local_bases: list[str]  # other class names it names
    methods: set[str]
    attrs: dict[str, str]
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Module:
    """One parsed module: the core.plugins names it imports and its classes."""

    name: str
    file: Path
    imports_core: bool
    classes: list[LegacyClass]
    problem: str | None = None


def _module_name(folder: Path, path: Path) -> str:
    parts = list(path.relative_to(folder).with_suffix("").parts)
    return ".".join(parts)


def read_module(source: str, file: Path, module: str) -> Module:
    """The classes of one module and whether it imports ``core.plugins``."""
    try:
        tree = ast.parse(source, filename=str(file))
    except (SyntaxError, ValueError) as exc:
        return Module(module, file, False, [], problem=f"does not parse: {exc}")
    except (MemoryError, RecursionError):  # nested too deep for the parser
        return Module(module, file, False, [], problem="does not parse: nested too deeply")
    aliases: dict[str, str] = {}  # local name -> core.plugins name
    prefixes: set[str] = set(_CORE)  # dotted names standing for core.plugins
    imports_core = False
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and not node.level and node.module in _CORE:
            imports_core = True
            for a in node.names:
                aliases[a.asname or a.name] = a.name
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module == "core":
            for a in node.names:
                if a.name == "plugins":
                    imports_core = True
                    prefixes.add(a.asname or a.name)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name in _CORE or a.name == "core":
                    imports_core = imports_core or a.name != "core" or a.asname is None
                    prefixes.add(a.asname or a.name)

    def core_name(expr: ast.expr) -> str | None:
        dotted = ast.unparse(expr)
        if dotted in aliases:
            return aliases[dotted]
        head, _, last = dotted.rpartition(".")
        return last if head in prefixes else None

    classes = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            classes.append(_read_class(node, module, file, core_name))
    return Module(module, file, imports_core, classes)


def _read_class(node: ast.ClassDef, module: str, file: Path, core_name: Any) -> LegacyClass:
    legacy, local = [], []
    for base in node.bases:
        name = core_name(base)
        if name in BASES:
            legacy.append(name)
        else:
            local.append(ast.unparse(base).rpartition(".")[2])
    methods = {n.name for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    attrs: dict[str, str] = {}
    for stmt in node.body:
        if isinstance(stmt, ast.Assign | ast.AnnAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            value = stmt.value
            text = value.value if isinstance(value, ast.Constant) else None
            for t in targets:
                if isinstance(t, ast.Name) and t.id in _ATTRS and isinstance(text, str):
                    attrs[t.id] = text
    metadata: dict[str, Any] = {}
    for call in ast.walk(node):
        if isinstance(call, ast.Call) and core_name(call.func) == "PluginMetadata":
            for kw in call.keywords:
                if kw.arg is None:
                    continue
                try:
                    metadata[kw.arg] = ast.literal_eval(kw.value)
                except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                    metadata[kw.arg] = None  # not a literal: known only when it runs
    return LegacyClass(
        node.name, module, file, node.lineno, legacy, local, methods, attrs, metadata
    )


def read_folder(folder: Path) -> tuple[list[Module], list[str]]:
    """Every module under ``folder`` (parsed, never imported), and what could not be read."""
    modules, unread = [], []
    for item in plugin_files(folder):
        if item.source is None:
            if item.path.suffix in (".py", ".pyw"):
                unread.append(f"{item.path.name}: not read ({item.refused.message})"
                              if item.refused is not None else item.path.name)  # fmt: skip
            continue
        modules.append(read_module(item.source, item.path, _module_name(folder, item.path)))
    return modules, unread


def top_level_sources(folder: Path) -> list[Path]:
    """The ``.py`` files directly in ``folder``."""
    try:
        return sorted(p for p in folder.iterdir() if p.suffix == ".py" and p.is_file())
    except OSError:
        return []


def _ancestry(cls: LegacyClass, by_name: dict[str, LegacyClass]) -> list[LegacyClass]:
    """``cls`` and the folder's classes it derives from, depth first in base order, each
    once: a crafted graph of classes (cycles, bases fanning out) is walked in linear time."""
    seen: set[int] = set()
    out: list[LegacyClass] = []
    todo = [cls]
    while todo:
        c = todo.pop()
        if id(c) in seen:
            continue
        seen.add(id(c))
        out.append(c)
        todo.extend(by_name[b] for b in reversed(c.local_bases) if b in by_name)
    return out


def kind_of(cls: LegacyClass, by_name: dict[str, LegacyClass]) -> str | None:
    """The kind its original bases give ``cls`` (through the folder's own classes)."""
    for c in _ancestry(cls, by_name):
        for base in c.legacy_bases:
            if BASES[base] is not None:
                return BASES[base]
    return None


def is_legacy(cls: LegacyClass, by_name: dict[str, LegacyClass]) -> bool:
    """Whether ``cls`` derives from an original base class (through the folder's classes)."""
    return any(c.legacy_bases for c in _ancestry(cls, by_name))


def methods_of(cls: LegacyClass, by_name: dict[str, LegacyClass]) -> set[str]:
    """Methods ``cls`` defines or inherits from the folder's own classes."""
    found: set[str] = set()
    for c in _ancestry(cls, by_name):
        found |= c.methods
    return found


def kind_from_methods(methods: set[str]) -> list[str]:
    """The kinds whose original method ``methods`` has."""
    return sorted({k for m, k in _KIND_METHOD.items() if m in methods})
