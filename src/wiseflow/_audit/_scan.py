"""The walk over one module: bind names in statement order, judge calls and strings.

Never imports or runs the code it reads. Statement order matters (a name's alias, value
and taint are what the last assignment before the use gave it); function bodies get their
own scope, seeded from the module's.
"""

from __future__ import annotations

import ast
import codecs
import re
from collections.abc import Callable
from pathlib import PurePath
from typing import Final

from ._calls import judge_call, module_rule
from ._rules import Rule, matching, raise_to
from ._scope import ENVDUMP, HIDDEN, IMAGE, Finding, Scope, sensitive, xors

__all__ = ["scan"]

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
_CODE_NAMES: Final = frozenset({"exec", "eval", "__import__", "compile", "execfile"})
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
_ESCAPES: Final = re.compile(r"(?:\\x[0-9a-fA-F]{2}|\\[0-7]{3}|\\u[0-9a-fA-F]{4}){3,}")
_BIDI: Final = re.compile("[\u202a-\u202e\u2066-\u2069]")
_BLOB: Final = re.compile(r"^[A-Za-z0-9+/=_\-\s]{160,}$")
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
_DISPATCH: dict[type, Callable[[_Scanner, ast.AST], None]] = {}
_HOOK_BASES: Final = ("setuptools.command.", "distutils.command.", "wheel.bdist_wheel")


class _Scanner(ast.NodeVisitor, Scope):
    def __init__(self, file: str, source: str) -> None:
        Scope.__init__(self, file)
        self.source = source
        self.setup = PurePath(file).name == "setup.py"
        self.skip: set[int] = set()  # nodes already judged as part of a larger one
        self.called: set[int] = set()  # attribute nodes that are a call's function
        self.inner = self._inner
        self.socket_imports: list[int] = []
        self.socket_uses: set[str] = set()  # socket module names used (gethostname...)
        self.socket_calls: set[str] = set()  # last parts, methods of socket objects included
        self.wrappers: dict[str, str] = {}  # local function -> "net" | "code"
        self.saw: set[str] = set()  # what the function being walked does: "net", "code"
        self.ret: set[str] = set()  # labels of what the function being walked returns

    # -- dispatch (ast.NodeVisitor's, without visiting ctx/operator singletons) ----------
    def visit(self, node: ast.AST) -> None:
        kind = type(node)
        method = _DISPATCH.get(kind)
        if method is None:
            method = getattr(_Scanner, f"visit_{kind.__name__}", _Scanner.generic_visit)
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
    def _bind(self, target: ast.AST, value: ast.AST | None, labels: frozenset[str]) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            values = value.elts if isinstance(value, (ast.Tuple, ast.List)) else None
            for i, elt in enumerate(target.elts):
                sub = values[i] if values and i < len(values) else None
                self._bind(elt, sub, self.labels_of(sub) if sub is not None else labels)
            return
        if isinstance(target, ast.Starred):
            self._bind(target.value, None, labels)
            return
        if isinstance(target, ast.Attribute) and self.resolve(target.value) in ("self", "cls"):
            self.members[f"{self.resolve(target.value)}.{target.attr}"] = labels
            return
        if not isinstance(target, ast.Name):
            return
        name = target.id
        self.forget()
        for table in (self.aliases, self.consts, self.texts, self.paths, self.seqs):
            table.pop(name, None)
        self.labels[name] = labels
        self.plain.discard(name)
        if value is None:
            return
        if isinstance(value, ast.Constant):
            self.plain.add(name)
        folded = self.fold(value)
        if folded is not None:
            self.consts[name] = folded
        seq = self.items(value)
        if seq is not None:
            self.seqs[name] = seq
        text = self.text(value)
        if text.strip("\ufffd"):
            self.texts[name] = text
        if isinstance(value, (ast.Name, ast.Attribute, ast.Call, ast.Subscript)):
            resolved = self.resolve(value)
            if resolved and resolved != name:
                self.aliases[name] = resolved
                if isinstance(value, ast.Name) and resolved in _CODE_NAMES:
                    self.add(Rule("obfuscation", "high", f"renames {resolved}"), value.lineno)
        if isinstance(value, ast.Call) and (self.resolve(value.func) or "").endswith("open"):
            first = value.args[0] if value.args else None
            if first is not None:
                self.paths[name] = self.text(first)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        labels = self.labels_of(node.value)
        for target in node.targets:
            self.visit_target(target)
            self._bind(target, node.value, labels)
        self._assigned(node.value, labels)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
            labels = self.labels_of(node.value)
            self._bind(node.target, node.value, labels)
            self._assigned(node.value, labels)

    def _assigned(self, value: ast.expr, labels: frozenset[str]) -> None:
        """Judge a value by what it builds: hidden strings, paths, image bits."""
        if isinstance(value, ast.Constant):
            return
        before = len(self.found)
        self._obfuscated_value(value)
        if len(self.found) == before and isinstance(value, (ast.BinOp, ast.Call, ast.JoinedStr)):
            text = self.text(value)
            if text.strip("\ufffd/") and matching(text, "credential", "persistence"):
                self._string(text, value.lineno, tricky=False)
        if IMAGE in labels and any(
            isinstance(n, ast.BinOp) and isinstance(n.op, (ast.BitAnd, ast.Mod))
            and isinstance(n.right, ast.Constant) and n.right.value in (1, 2)
            for n in ast.walk(value)
        ):  # fmt: skip
            self.add(Rule("steganography", "high", "extracts the low bits of image data"),
                     value.lineno)  # fmt: skip

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        if isinstance(node.target, ast.Name):
            name = node.target.id
            labels = self.labels.get(name, frozenset()) | self.labels_of(node.value)
            joined = ast.BinOp(left=ast.Name(name, ast.Load()), op=node.op, right=node.value)
            self._bind(node.target, joined, labels)
        else:
            self.visit_target(node.target)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self._bind(node.target, node.value, self.labels_of(node.value))

    def visit_target(self, target: ast.AST) -> None:
        if not isinstance(target, ast.Name):
            self.visit(target)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        labels = self.labels_of(node.iter)
        if self.resolve(node.iter) == "os.environ":
            labels |= {ENVDUMP}
        if "secret" in labels and not any(f.line == node.lineno for f in self.found[-3:]):
            self.add(Rule("credential-access", "high", "walks a credential or wallet store"),
                     node.lineno)  # fmt: skip
        self._bind(node.target, None, labels)
        for stmt in [*node.body, *node.orelse]:
            self.visit(stmt)

    visit_AsyncFor = visit_For

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self._bind(item.optional_vars, item.context_expr,
                           self.labels_of(item.context_expr))  # fmt: skip
        for stmt in node.body:
            self.visit(stmt)

    visit_AsyncWith = visit_With

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        if not isinstance(node, ast.Lambda):
            for dec in node.decorator_list:
                self.visit(dec)
            self.labels[node.name] = frozenset()
        saved = (dict(self.aliases), dict(self.consts), dict(self.texts), dict(self.labels),
                 dict(self.paths), dict(self.seqs))  # fmt: skip
        for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]:
            for table in (self.aliases, self.consts, self.texts, self.paths, self.seqs):
                table.pop(arg.arg, None)
            self.labels[arg.arg] = frozenset()  # a parameter shadows a builtin of its name
        self.depth += 1
        self.forget()
        outer, self.saw = self.saw, set()
        outer_ret, self.ret = self.ret, set()
        try:
            body = [node.body] if isinstance(node, ast.Lambda) else node.body
            for stmt in body:
                self.visit(stmt)
            if not isinstance(node, ast.Lambda):
                if self.saw and self.depth <= 2:  # module functions and methods
                    self.wrappers[node.name] = "code" if "code" in self.saw else "net"
                if self.ret:
                    self.returns[node.name] = frozenset(self.ret)
        finally:
            self.ret = outer_ret
            self.saw |= outer
            self.depth -= 1
            self.aliases, self.consts, self.texts, self.labels, self.paths, self.seqs = saved
            self.forget()

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_Lambda = visit_FunctionDef

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
        labels = frozenset().union(*(self.labels_of(a) for a in node.args)) if node.args else None
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
        elif node.id in _CODE_NAMES - {"compile"} and node.id not in self.labels:
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

    def visit_Return(self, node: ast.Return) -> None:
        if node.value is not None:
            self.visit(node.value)
            self.ret |= self.labels_of(node.value)

    def visit_Expr(self, node: ast.Expr) -> None:
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return  # a docstring or a bare string says nothing
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if isinstance(value, str) and len(value) >= 4:
            self._string(value, node.lineno, tricky=False)

    def _string(self, value: str, line: int, *, tricky: bool) -> None:
        # "pip install x" in an error message is advice, not an action: commands are not here
        kinds = ("credential", "persistence", "url", "payload", "evasion", "token")
        for pat in matching(value, *kinds)[:1]:
            sev = pat.rule.severity
            mention = pat.kind in ("credential", "persistence") or pat.rule.rule in (
                "download-exec",
                "silent-process",
            )
            if mention and not tricky:
                sev = "medium"  # named, not yet used: the call that uses it is judged
            self.add(Rule(pat.rule.rule, sev, pat.rule.message), line, value[:80])
            return
        if tricky and sensitive(value):
            self.add(Rule("obfuscation", "high", "spells a dangerous name indirectly"), line,
                     value[:80])  # fmt: skip
        elif _BLOB.match(value) and not value.isalpha():
            self.add(Rule("encoded-blob", "low", "embeds a long encoded blob"), line)

    def _obfuscated_value(self, value: ast.AST) -> None:
        if isinstance(value, ast.Constant):
            return
        got = self.fold(value)
        if got is None or not got.tricky or isinstance(got.value, int):
            return
        text = got.value.decode("latin-1") if isinstance(got.value, bytes) else got.value
        if len(text) >= 2:
            before = len(self.found)
            self._string(text, getattr(value, "lineno", 0), tricky=True)
            if len(self.found) == before:
                self.add(Rule("obfuscation", "low", "builds a string from encoded pieces"),
                         getattr(value, "lineno", 0), text[:80])  # fmt: skip

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
        inner = _Scanner(self.file, code)
        inner.depth = self.depth + 1  # nesting bound for exec("exec('...')")
        try:
            return inner.run(tree)
        except RecursionError:
            return []

    # -- whole module ----------------------------------------------------------------
    def run(self, tree: ast.Module) -> list[Finding]:
        self.visit(tree)
        self._escapes()
        for match in _BIDI.finditer(self.source):
            line = self.source.count("\n", 0, match.start()) + 1
            self.add(Rule("obfuscation", "high", "hides code with bidirectional text controls"),
                     line)  # fmt: skip
        if self.socket_uses and self.socket_uses <= _HARMLESS_SOCKET:
            self._socket_imports("fingerprint", "low", "imports socket for host-name lookups")
        elif self.socket_uses and not self.socket_calls & _TALKING_SOCKET:
            self._socket_imports("local-socket", "medium", "uses sockets that neither connect "
                                 "nor listen")  # fmt: skip
            self.found = [f._replace(rule="local-socket", severity="medium")
                          if f.rule == "raw-network" else f for f in self.found]  # fmt: skip
        return self.found

    def _escapes(self) -> None:
        for match in _ESCAPES.finditer(self.source):
            try:
                text = codecs.decode(match.group(0), "unicode_escape")
            except UnicodeDecodeError:
                continue
            if not text.isprintable() or not text.isascii():
                continue
            line = self.source.count("\n", 0, match.start()) + 1
            sev = "high" if sensitive(text.strip()) else "medium"
            self.add(Rule("obfuscation", sev, "spells a string in escape codes"), line, text[:40])


def scan(source: str, file: str) -> list[Finding]:
    """Every finding in one module's source (``unparsable`` when it does not parse).

    Source that does not parse (Python 2, a fragment) is refused, and still read line by
    line so that what it would do is reported too.
    """
    try:
        tree = ast.parse(source, filename=file)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", 0) or 0
        msg = getattr(exc, "msg", str(exc))
        refused = Finding("unparsable", "high", f"cannot be audited: {msg}", line)
        return [refused, *_line_by_line(source, file)]
    try:
        return _Scanner(file, source).run(tree)
    except RecursionError:
        return [Finding("unparsable", "high", "cannot be audited: nested too deeply", 0)]


_PY2_EXEC: Final = re.compile(r"^(\s*)(exec|print)\s+(?![(=])(.+)$")
_KEYWORDS: Final = (
    (re.compile(r"\b(exec|eval|execfile|compile)\b"), Rule("dynamic-code", "high",
     "executes code from a string")),
    (re.compile(r"\b(os\.system|os\.popen|subprocess\.|Popen\b|commands\.getoutput)"),
     Rule("subprocess", "medium", "starts programs")),
    (re.compile(r"\b(urlopen|urlretrieve|requests\.|urllib2?\.|socket\.)"),
     Rule("network", "low", "makes network connections itself; use ctx.http")),
    (re.compile(r"\b(b64decode|decodestring|fromhex|unhexlify|decompress|marshal\.loads)\b"),
     Rule("obfuscation", "low", "decodes data")),
)  # fmt: skip


def _line_by_line(source: str, file: str) -> list[Finding]:
    """Findings of each line read alone, or matched by keyword when a line does not parse."""
    found: list[Finding] = []
    for number, raw in enumerate(source.splitlines(), 1):
        text = raw.strip()
        if not text or text.startswith("#") or len(text) > 4000:
            continue
        py2 = _PY2_EXEC.match(text)
        if py2 and py2.group(2) == "exec":
            text = f"exec({py2.group(3)})"  # Python 2: exec "code"
        try:
            tree = ast.parse(text.rstrip(":") if text.endswith(":") else text)
        except (SyntaxError, ValueError):
            found += [Finding(r.rule, r.severity, r.message, number)
                      for rx, r in _KEYWORDS if rx.search(text)]  # fmt: skip
            found += [Finding(p.rule.rule, p.rule.severity, p.rule.message, number)
                      for p in matching(text)[:1]]  # fmt: skip
            continue
        try:
            found += [f._replace(line=number) for f in _Scanner(file, text).run(tree)]
        except RecursionError:
            continue
    return found
