"""Static audit of a plugin's source, before any of it runs (WF302).

An AST walk over every ``.py`` file of the plugin's folder flags what a pipeline plugin
should not need: raw sockets, exec, ctypes, interpreter introspection used for sandbox
escapes, process control. Findings carry a rule, a severity and a place. The operator's
``audit_block`` (``[policy]``) sets the severity from which a plugin is refused; ``strict``
refuses from ``medium``. The audit is a first line, not the boundary: sandboxed plugins are
held by the kernel whatever the audit missed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from ._errors import Problem
from ._manifest import Manifest
from ._toml import read_limited

__all__ = ["SEVERITIES", "audit_plugin", "audit_source", "blocking"]

SEVERITIES: Final = ("info", "low", "medium", "high", "critical")
_RANK = {s: i for i, s in enumerate(SEVERITIES)}

# module prefix -> (rule, severity, message); severity may be lowered by a granted permission
_MODULES: dict[str, tuple[str, str, str]] = {
    "ctypes": ("native-code", "critical", "loads native code (ctypes) that bypasses Python"),
    "cffi": ("native-code", "critical", "loads native code (cffi)"),
    "socket": ("raw-network", "high", "opens raw sockets; use ctx.http"),
    "ssl": ("raw-network", "high", "uses TLS sockets directly; use ctx.http"),
    "http.client": ("raw-network", "high", "makes HTTP connections itself; use ctx.http"),
    "urllib.request": ("raw-network", "high", "makes HTTP connections itself; use ctx.http"),
    "requests": ("raw-network", "high", "makes HTTP connections itself; use ctx.http"),
    "httpx": ("raw-network", "high", "makes HTTP connections itself; use ctx.http"),
    "aiohttp": ("raw-network", "high", "makes HTTP connections itself; use ctx.http"),
    "subprocess": ("subprocess", "high", "starts programs"),
    "pty": ("subprocess", "high", "starts programs in a pseudo-terminal"),
    "multiprocessing": ("subprocess", "medium", "starts processes"),
    "pickle": ("unsafe-deserialise", "medium", "unpickles data (code execution on load)"),
    "marshal": ("unsafe-deserialise", "medium", "loads marshalled code objects"),
    "shelve": ("unsafe-deserialise", "medium", "unpickles data from shelves"),
    "signal": ("process-control", "medium", "installs signal handlers"),
}
_CALLS: dict[str, tuple[str, str, str]] = {
    "eval": ("dynamic-code", "high", "evaluates code from a string"),
    "exec": ("dynamic-code", "high", "executes code from a string"),
    "compile": ("dynamic-code", "medium", "compiles code at run time"),
    "__import__": ("dynamic-import", "high", "imports modules by computed name"),
    "os.system": ("subprocess", "high", "runs a shell command"),
    "os.popen": ("subprocess", "high", "runs a shell command"),
    "os.fork": ("subprocess", "high", "forks the process"),
    "os.kill": ("process-control", "high", "sends signals to processes"),
    "os.killpg": ("process-control", "high", "sends signals to process groups"),
    "os.setuid": ("process-control", "critical", "changes user id"),
    "os.chroot": ("process-control", "critical", "changes the root directory"),
    "importlib.import_module": ("dynamic-import", "low", "imports a module by name at run time"),
    "resource.setrlimit": ("process-control", "medium", "changes process resource limits"),
    "resource.prlimit": ("process-control", "medium", "changes process resource limits"),
    "sys._getframe": ("introspection", "high", "reads interpreter frames"),
    "gc.get_objects": ("introspection", "high", "walks every live object"),
    "gc.get_referrers": ("introspection", "high", "walks object references"),
    "os.getenv": ("environment", "medium", "reads environment variables; use ctx.secret"),
}
_PREFIX_CALLS = {
    "os.exec": ("subprocess", "high", "replaces the process with a program"),
    "os.spawn": ("subprocess", "high", "starts programs"),
    "os.posix_spawn": ("subprocess", "high", "starts programs"),
}
_ATTRS: dict[str, tuple[str, str, str]] = {
    "__subclasses__": ("introspection", "high", "walks class hierarchies (sandbox escape trick)"),
    "__globals__": ("introspection", "high", "reads a function's globals"),
    "__builtins__": ("introspection", "high", "reaches the builtins module"),
    "__code__": ("introspection", "medium", "reads or swaps code objects"),
    "__mro__": ("introspection", "low", "walks the method resolution order"),
    "f_globals": ("introspection", "high", "reads a frame's globals"),
    "environ": ("environment", "medium", "reads the process environment; use ctx.secret"),
}
_SENSITIVE_STRINGS = ("__import__", "__subclasses__", "__builtins__", "__globals__", "system")


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


class _Visitor(ast.NodeVisitor):
    def __init__(self, file: str) -> None:
        self.file = file
        self.found: list[tuple[str, str, str, int]] = []
        self.aliases: dict[str, str] = {}

    def add(self, rule: tuple[str, str, str], line: int, detail: str = "") -> None:
        name, severity, message = rule
        self.found.append((name, severity, message + (f" ({detail})" if detail else ""), line))

    def _module(self, module: str, line: int) -> None:
        for prefix, rule in _MODULES.items():
            if module == prefix or module.startswith(prefix + "."):
                self.add(rule, line, module)
                return

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._module(alias.name, node.lineno)
            self.aliases[alias.asname or alias.name.split(".")[0]] = alias.name
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and not node.level:
            self._module(node.module, node.lineno)
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                self._module(full, node.lineno)
                self.aliases[alias.asname or alias.name] = full
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = _dotted(node.func)
        if name:
            head, _, rest = name.partition(".")
            full = f"{self.aliases.get(head, head)}{'.' + rest if rest else ''}"
            rule = _CALLS.get(full) or _CALLS.get(name)
            if rule is None:
                for prefix, prefix_rule in _PREFIX_CALLS.items():
                    if full.startswith(prefix):
                        rule = prefix_rule
            if rule:
                self.add(rule, node.lineno, full)
            if full in ("importlib.import_module", "__import__") and node.args:
                first = node.args[0]
                if not isinstance(first, ast.Constant):
                    self.add(("dynamic-import", "high", "imports a module whose name is computed"),
                             node.lineno, full)  # fmt: skip
                else:
                    self._module(str(first.value), node.lineno)
            if full in ("getattr", "builtins.getattr") and len(node.args) >= 2:
                arg = node.args[1]
                if isinstance(arg, ast.Constant) and arg.value in _SENSITIVE_STRINGS:
                    self.add(("dynamic-import", "high", "reaches a sensitive attribute by name"),
                             node.lineno, repr(arg.value))  # fmt: skip
                elif not isinstance(arg, ast.Constant):
                    self.add(("introspection", "low", "reads an attribute by computed name"),
                             node.lineno)  # fmt: skip
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        rule = _ATTRS.get(node.attr)
        if rule:
            self.add(rule, node.lineno, node.attr)
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and node.value in ("__subclasses__", "__builtins__"):
            self.add(("introspection", "medium", "names an escape-prone attribute in a string"),
                     node.lineno, node.value)  # fmt: skip


def audit_source(source: str, file: str) -> list[tuple[str, str, str, int]]:
    """(rule, severity, message, line) for each finding in ``source``."""
    try:
        tree = ast.parse(source, filename=file)
    except SyntaxError as exc:
        return [("unparsable", "medium", f"cannot be audited: {exc.msg}", exc.lineno or 0)]
    visitor = _Visitor(file)
    visitor.visit(tree)
    return visitor.found


def _sources(root: Path) -> Iterator[Path]:
    # ``tests`` is read too: an entry may load from it (``entry = "tests.x:P"``), and a
    # module there may be imported by the plugin's code like any other
    for path in sorted(root.rglob("*.py")):
        if not any(part in ("__pycache__", ".venv") for part in path.relative_to(root).parts):
            yield path


def _compiled(root: Path) -> Iterator[tuple[Path, str, str, str]]:
    """Code the audit cannot read: native extensions and bytecode without its source."""
    for path in sorted(root.rglob("*")):
        suffix = path.suffix.lower()
        if suffix in (".so", ".pyd", ".dylib"):
            yield path, "native-code", "critical", "ships a native extension the audit cannot read"
        elif suffix in (".pyc", ".pyo"):
            source = (
                path.parent.parent / (path.name.split(".", 1)[0] + ".py")
                if path.parent.name == "__pycache__"
                else path.with_suffix(".py")
            )
            if not source.exists():
                yield path, "compiled-code", "high", "ships bytecode without its source"


def _lowered(rule: str, severity: str, manifest: Manifest) -> str:
    """A declared permission turns the matching finding into information."""
    perms = manifest.permissions
    if rule == "subprocess" and perms.subprocess:
        return "info"
    return severity


def audit_plugin(manifest: Manifest, root: Path | None = None) -> list[Problem]:
    """Every finding in the plugin's folder, as WF302 problems with rule and severity."""
    folder = root or manifest.root
    if folder is None or not folder.is_dir():
        return []
    problems: list[Problem] = []
    for path, rule, severity, message in _compiled(folder):
        problems.append(
            Problem(
                code="WF302",
                message=f"{path.name}: {message}",
                hint=_HINTS.get(rule),
                file=str(path),
                plugin=manifest.name,
                rule=rule,
                severity=severity,
            )
        )
    for path in _sources(folder):
        try:
            source = read_limited(path, 4 << 20).decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            found = [("unreadable", "high", f"cannot be audited: {exc}", 0)]
        else:
            found = audit_source(source, str(path))
        for rule, severity, message, line in found:
            problems.append(
                Problem(
                    code="WF302",
                    message=f"{path.name}: {message}",
                    hint=_HINTS.get(rule),
                    file=str(path),
                    line=line or None,
                    plugin=manifest.name,
                    rule=rule,
                    severity=_lowered(rule, severity, manifest),
                )
            )
    return problems


def blocking(problems: list[Problem], threshold: str) -> list[Problem]:
    """The findings at or above ``threshold`` (``none``: nothing blocks)."""
    if threshold == "none":
        return []
    floor = _RANK[threshold]
    return [p for p in problems if _RANK.get(p.severity or "info", 0) >= floor]


_HINTS = {
    "raw-network": "fetch through ctx.http and declare the host in [plugin.permissions] network",
    "subprocess": "declare subprocess = true in [plugin.permissions] if the plugin needs it",
    "native-code": "native code cannot be confined by the audit; run it only as trusted",
    "environment": "read secrets with ctx.secret(name) and declare them in env = [...]",
    "dynamic-code": "avoid eval/exec; parse data with json or tomllib",
    "dynamic-import": "import modules by their literal names",
    "introspection": "pipeline plugins need no interpreter internals",
    "unsafe-deserialise": "use json or msgspec for data",
    "compiled-code": "ship the .py sources; the audit reads only source code",
    "process-control": "leave process and signal control to the host",
}
