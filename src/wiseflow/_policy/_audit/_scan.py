"""The walk over one module: bind names in statement order, judge calls and strings.

Never imports or runs the code it reads. Statement order matters (a name's alias, value
and taint are what the last assignment before the use gave it); function bodies get their
own scope, seeded from the module's.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import PurePath
from typing import Final

from ._bindings import Bindings
from ._calls import judge_call, module_rule
from ._rules import Rule, raise_to
from ._scope import CODE_NAMES, ENVDUMP, HIDDEN, Finding, sensitive, xors
from ._strings import judge_bidi, judge_escapes, judge_string

__all__ = ["Scanner"]

_ATTRS: Final = {
    "__subclasses__": Rule("introspection", "high", "walks class hierarchies (sandbox escape)"),
    "__globals__": Rule("introspection", "high", "reads a function's globals"),
    "__builtins__": Rule("introspection", "high", "reaches the builtins module"),
    "__code__": Rule("introspection", "medium", "reads or swaps code objects"),
    "__mro__": Rule("introspection", "low", "walks the method resolution order"),
    "f_globals": Rule("introspection", "high", "reads a frame's globals"),
    "f_builtins": Rule("introspection", "high", "reads a frame's builtins"),
    "f_locals": Rule("introspection", "medium", "reads a frame's locals"),
    "gi_frame": Rule("introspection", "medium", "reads a generator's frame"),
    "tb_frame": Rule("introspection", "medium", "reads a traceback's frame"),
    "__getattribute__": Rule("obfuscation", "medium", "reads attributes through a dunder"),
}
_HARMLESS_SOCKET: Final = frozenset(
    {"gethostname", "getfqdn", "gethostbyname", "getaddrinfo", "inet_aton", "inet_ntoa",
     "AF_INET", "AF_INET6", "SOCK_STREAM", "timeout", "error", "gaierror", "herror",
     "has_ipv6", "inet_pton", "inet_ntop"}
)  # fmt: skip
# what a socket does that makes it a channel: without these it only reserves a local port
_TALKING_SOCKET: Final = frozenset(
    {"connect", "connect_ex", "send", "sendall", "sendto", "sendmsg", "recv", "recvfrom",
     "recv_into", "recvmsg", "listen", "accept", "create_connection", "create_server",
     "fromfd", "socketpair", "makefile", "sendfile"}
)  # fmt: skip
_INSTALL_RULES: Final = frozenset(
    {"subprocess", "network", "raw-network", "dynamic-code", "download-exec", "environment",
     "environment-dump", "exfiltration", "file-access", "fingerprint"}
)  # fmt: skip
_NET_CALLS: Final = ("requests.", "httpx.", "urllib.request.", "socket.", "http.client.")
# modules whose every use is telling (a reference like ``(bc.chrome, bc.edge)`` included)
_TELLING_MODULES: Final = frozenset(
    {"credential-access", "spyware", "steganography", "obfuscated-code", "persistence"}
)
_INERT_FIELDS: Final = frozenset({"ctx", "op", "ops", "type_comment", "type_ignores"})
_DISPATCH: dict[type, Callable[[Scanner, ast.AST], None]] = {}
_HOOK_BASES: Final = ("setuptools.command.", "distutils.command.", "wheel.bdist_wheel")


class Scanner(Bindings, ast.NodeVisitor):
    def __init__(self, file: str, source: str) -> None:
        Bindings.__init__(self, file)
        self.source = source
        self.setup = PurePath(file).name == "setup.py"
        self.skip: set[int] = set()  # nodes already judged as part of a larger one
        self.called: set[int] = set()  # attribute nodes that are a call's function
        self.inner = self._inner
        self.socket_imports: list[int] = []
        self.socket_uses: set[str] = set()  # socket module names used (gethostname...)
        self.socket_calls: set[str] = set()  # last parts, methods of socket objects included

    # -- dispatch (ast.NodeVisitor's, without visiting ctx/operator singletons) ----------
    def visit(self, node: ast.AST) -> None:
        kind = type(node)
        method = _DISPATCH.get(kind)
        if method is None:
            method = getattr(Scanner, f"visit_{kind.__name__}", Scanner.generic_visit)
            _DISPATCH[kind] = method
        method(self, node)

    def generic_visit(self, node: ast.AST) -> None:
        for field in node._fields:
            if field in _INERT_FIELDS:
                continue
            value = getattr(node, field, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        self.visit(item)
            elif isinstance(value, ast.AST):
                self.visit(value)

    def add(self, rule: Rule | tuple[str, str, str], line: int, detail: str = "") -> None:
        name, severity, message = rule
        if self.setup and self.depth == 0 and name in _INSTALL_RULES:
            severity, message = raise_to(severity, "high"), f"{message} at install time"
        super().add((name, severity, message), line, detail)

    # -- imports ---------------------------------------------------------------------
    def _module(self, module: str, line: int) -> None:
        found = module_rule(module)
        if found:
            if found[0] == "socket":
                self.socket_imports.append(len(self.found))
            self.add(found[1], line, module)

    def visit_Import(self, node: ast.Import) -> None:
        self.forget()
        for alias in node.names:
            self._module(alias.name, node.lineno)
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                head = alias.name.split(".")[0]
                self.aliases[head] = head

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if not node.module or node.level:
            return
        self.forget()
        self._module(node.module, node.lineno)
        for alias in node.names:
            full = f"{node.module}.{alias.name}"
            if module_rule(full) and module_rule(full) != module_rule(node.module):
                self._module(full, node.lineno)
            if alias.name != "*":
                self.aliases[alias.asname or alias.name] = full

    # -- bindings --------------------------------------------------------------------

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for base in node.bases:
            name = self.resolve(base) or ""
            if name.startswith(_HOOK_BASES):
                command = name.rsplit(".", 1)[-1]
                sev = "high" if command in ("install", "develop", "egg_info") else "medium"
                self.add(Rule("install-hook", sev, "overrides a setup command (code runs at "
                              "install)"), node.lineno, name)  # fmt: skip
        self.depth += 1
        try:
            self.generic_visit(node)
        finally:
            self.depth -= 1

    # -- expressions -----------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        name = self.resolve(node.func)
        if name and name.endswith(".__call__"):
            name = name.removesuffix(".__call__")
        if name is None and isinstance(node.func, ast.Attribute):
            name = f"?.{node.func.attr}"
        if isinstance(node.func, ast.Call) and self.resolve(node.func.func) == "getattr":
            self.add(Rule("obfuscation", "low", "calls a function fetched by getattr"),
                     node.lineno)  # fmt: skip
        if name:
            self._socket_use(name)
            if name in ("exec", "eval"):
                self.saw.add("code")
            elif name.startswith(_NET_CALLS):
                self.saw.add("net")
            wrapper = self.wrappers.get(self.local(name))
            if wrapper in ("net", "code"):
                self._wrapper(node, name, wrapper)
            judge_call(self, node, name)
        if self.env_read(node) or (name or "").startswith("os.environ"):
            self.skip.add(id(node.func))
        if not isinstance(node.func, ast.Name):
            self.called.add(id(node.func))
            self.visit(node.func)
        for arg in node.args:
            self.visit(arg)
        for kw in node.keywords:
            self.visit(kw.value)

    def _wrapper(self, node: ast.Call, name: str, kind: str) -> None:
        labels: frozenset[str] = frozenset().union(*(self.labels_of(a) for a in node.args))
        if kind == "code" and node.args and not labels & HIDDEN:
            self.add(Rule("dynamic-code", "high", "passes code to a helper that executes it"),
                     node.lineno, name)  # fmt: skip
            return
        if not labels:
            return
        if kind == "net" and labels & {ENVDUMP, "secret"}:
            self.add(Rule("exfiltration", "critical", "sends the environment or credentials "
                          "out"), node.lineno, name)  # fmt: skip
        elif kind == "net" and labels & {"env", "sysinfo", "spy"}:
            self.add(Rule("exfiltration", "high", "sends host or user data out"), node.lineno, name)
        elif kind == "code" and labels & HIDDEN:
            self.add(Rule("dynamic-code", "critical", "executes decoded or downloaded code"),
                     node.lineno, name)  # fmt: skip

    def _socket_use(self, name: str) -> None:
        if name.startswith("socket."):
            self.socket_uses.add(name.split(".")[1].removesuffix("()"))
            self.socket_calls.add(name.rsplit(".", 1)[-1])

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if id(node) in self.skip:
            return
        rule = _ATTRS.get(node.attr)
        if rule:
            self.add(rule, node.lineno, node.attr)
        name = self.resolve(node)
        if name:
            self._socket_use(name)
            if name == "mmap.PROT_EXEC":
                self.add(Rule("native-code", "critical", "maps executable memory"), node.lineno)
            if name in ("os.environ", "os.environb") and isinstance(node.ctx, ast.Load):
                self.add(Rule("environment-dump", "medium", "reads the whole environment"),
                         node.lineno, "*")  # fmt: skip
                return
            found = module_rule(name)
            if (
                found
                and "." in name
                and (
                    found[1].severity == "critical"
                    or (found[1].rule in _TELLING_MODULES and id(node) not in self.called)
                )
            ):
                self.add(found[1], node.lineno, name)
                return
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if not isinstance(node.ctx, ast.Load) or id(node) in self.skip:
            return
        name = self.resolve(node)
        if node.id == "__builtins__":
            self.add(Rule("introspection", "high", "reaches the builtins module"), node.lineno)
        elif node.id in CODE_NAMES - {"compile"} and node.id not in self.labels:
            self.add(Rule("obfuscation", "high", f"passes {node.id} around as a value"),
                     node.lineno, node.id)  # fmt: skip
        elif name in ("os.environ", "os.environb"):
            self.add(Rule("environment-dump", "medium", "reads the whole environment"),
                     node.lineno, "*")  # fmt: skip

    def visit_Subscript(self, node: ast.Subscript) -> None:
        env = self.env_read(node)
        if env and isinstance(node.ctx, ast.Load):
            label, var = env
            sev = "medium" if label == "secret" else "low"
            self.add(Rule("environment", sev, f"reads the environment variable {var}"),
                     node.lineno, var)  # fmt: skip
            self.skip.add(id(node.value))
        elif env:
            self.skip.add(id(node.value))
        else:
            base = self.resolve(node.value) or ""
            if base in ("builtins", "__builtins__", "globals()") or base.endswith("__dict__"):
                key = self.fold(node.slice)
                value = key.value if key else None
                if (isinstance(value, str) and (sensitive(value) or (key and key.tricky))) or (
                    value is None and base in ("builtins", "__builtins__")
                ):
                    self.add(Rule("obfuscation", "high", "reaches a name through a namespace "
                                  "dictionary"), node.lineno, str(value))  # fmt: skip
                elif value is None:
                    self.add(Rule("obfuscation", "medium", "reads a namespace by computed "
                                  "name"), node.lineno)  # fmt: skip
        self.generic_visit(node)

    def visit_GeneratorExp(self, node: ast.GeneratorExp | ast.ListComp) -> None:
        if xors(node):
            self.add(Rule("obfuscation", "low", "XOR-decodes data"), node.lineno)
        self.generic_visit(node)

    visit_ListComp = visit_GeneratorExp

    def visit_Expr(self, node: ast.Expr) -> None:
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return  # a docstring or a bare string says nothing
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if isinstance(value, str) and len(value) >= 4:
            judge_string(self, value, node.lineno, tricky=False)

    def _socket_imports(self, rule: str, severity: str, message: str) -> None:
        for i in self.socket_imports:
            self.found[i] = self.found[i]._replace(rule=rule, severity=severity, message=message)

    def _inner(self, code: str) -> list[Finding]:
        """Findings of code held in a string (exec("import os; os.system(...)"))."""
        if self.depth > 20:
            return []
        try:
            tree = ast.parse(code)
        except (SyntaxError, ValueError):
            return []
        inner = Scanner(self.file, code)
        inner.depth = self.depth + 1  # nesting bound for exec("exec('...')")
        try:
            return inner.run(tree)
        except RecursionError:
            return []

    # -- whole module ----------------------------------------------------------------
    def run(self, tree: ast.Module) -> list[Finding]:
        self.visit(tree)
        judge_escapes(self, self.source)
        judge_bidi(self, self.source)
        if self.socket_uses and self.socket_uses <= _HARMLESS_SOCKET:
            self._socket_imports("fingerprint", "low", "imports socket for host-name lookups")
        elif self.socket_uses and not self.socket_calls & _TALKING_SOCKET:
            self._socket_imports("local-socket", "medium", "uses sockets that neither connect "
                                 "nor listen")  # fmt: skip
            self.found = [f._replace(rule="local-socket", severity="medium")
                          if f.rule == "raw-network" else f for f in self.found]  # fmt: skip
        return self.found
