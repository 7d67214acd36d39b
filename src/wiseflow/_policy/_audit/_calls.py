"""Judging one call: code sinks, imports, attribute indirection, programs, network, files.

Each ``judge_*`` looks at a call that the scope has resolved (``sp.Popen`` ->
``subprocess.Popen``) and adds findings whose severity follows from what flows into it:
a decoded blob into ``exec`` is critical, a literal ``git`` command is low.
"""

from __future__ import annotations

import ast
from typing import Final

from ._flow import also, arg, hidden, module_rule, taint
from ._fold import UNKNOWN
from ._io import (
    COPY_CALLS,
    PATH_CALLS,
    PATH_METHODS,
    SEND_TAILS,
    judge_chmod,
    judge_copy,
    judge_destroy,
    judge_open,
    judge_retrieve,
    judge_send,
    judge_write,
    path_rules,
)
from ._programs import judge_program
from ._rules import CALLS, CODE_SINKS, SUBPROCESS_CALLS, Rule, matching
from ._scope import (
    ENVDUMP,
    FILE,
    HIDDEN,
    OBF,
    USERFILES,
    Scope,
    secret_name,
    sensitive,
)
from ._strings import judge_string

__all__ = ["judge_call", "module_rule"]

_IMPORTERS: Final = frozenset({"__import__", "importlib.import_module", "importlib.__import__"})
_PREFIX_CALLS: Final = [(k, r) for k, r in CALLS.items() if k.endswith(("exec", "spawn"))]
_INSTALL_COMMANDS: Final = frozenset({"install", "develop", "egg_info", "easy_install"})
_CAPABILITIES: Final = frozenset({"subprocess", "network", "process-control"})
_MAX_INNER: Final = 1 << 16
_DECODE_TAILS: Final = frozenset(
    {"b64decode", "b32decode", "b16decode", "b85decode", "a85decode", "urlsafe_b64decode",
     "decodebytes", "decodestring", "unhexlify", "a2b_hex", "a2b_base64", "fromhex",
     "decompress", "decode"}
)  # fmt: skip
_CODECS: Final = ("hex", "hex_codec", "rot13", "rot_13", "base64", "base64_codec", "zlib")
_ATTRGETTERS: Final = ("operator.attrgetter", "operator.methodcaller")
_CLIPBOARD: Final = frozenset(
    {"clipboard_get", "clipboard_append", "GetClipboardData", "SetClipboardData",
     "SetClipboardText", "OpenClipboard"}
)  # fmt: skip


def judge_call(s: Scope, node: ast.Call, name: str) -> None:
    """Add the findings for one resolved call."""
    tail = name.rsplit(".", 1)[-1]
    before = len(s.found)
    if name in CODE_SINKS:
        _code(s, node, name)
    elif name in _IMPORTERS:
        _import(s, node, name)
    elif name in ("getattr", "hasattr"):
        _getattr(s, node)
    elif name in SUBPROCESS_CALLS or name.startswith(("os.exec", "os.spawn")):
        judge_program(s, node, name)
    if name in ("open", "io.open", "codecs.open", "os.open") or (
        tail in PATH_METHODS and isinstance(node.func, ast.Attribute)
    ):
        judge_open(s, node, name)
    elif name in COPY_CALLS:
        judge_copy(s, node)
    elif tail in ("write", "writelines", "writestr") and isinstance(node.func, ast.Attribute):
        judge_write(s, node, node.func.value, node.args[:1])
    elif tail in ("dump", "dumps") and len(node.args) >= 2:
        judge_write(s, node, node.args[1], node.args[:1])
    elif tail in PATH_CALLS and node.args:
        path_rules(s, s.text(node.args[0]), False, node.lineno, mention=False)
        if USERFILES in s.source_labels(name, node):
            s.add(Rule("file-access", "medium", "walks the whole home or root folder"),
                  node.lineno)  # fmt: skip
    elif tail in ("rmtree", "remove", "unlink", "rmdir") and node.args:
        judge_destroy(s, node, name)
    elif name.endswith("urlretrieve"):
        judge_retrieve(s, node)
    elif name in ("os.chmod", "pathlib.Path.chmod") or tail == "chmod":
        judge_chmod(s, node)
    if tail in SEND_TAILS or name.startswith(("requests.", "httpx.", "aiohttp.", "urllib3.")):
        judge_send(s, node, name)
    if tail == "execute" and node.args and matching(s.text(node.args[0]), "credential"):
        s.add(Rule("credential-access", "high", "queries a credential database"), node.lineno)
    if _decodes(s, node, tail):
        s.add(Rule("obfuscation", "low", "decodes data (base64/hex/zlib)"), node.lineno, name)
    if name.endswith(("exec_module", "load_module")):
        s.add(Rule("dynamic-import", "medium", "executes a module loaded by path"), node.lineno)
    if name == "importlib.util.spec_from_file_location" and len(node.args) > 1:
        where = s.text(node.args[1])
        own = "__file__" in ast.unparse(node.args[1])  # a file beside the plugin's own
        if not own and (where.startswith(("/", "~", UNKNOWN)) or "tmp" in where.lower()):
            s.add(Rule("dynamic-import", "high", "imports code from a file outside the plugin"),
                  node.lineno, where)  # fmt: skip
    if isinstance(node.func, ast.Call) and s.resolve(node.func.func) in _ATTRGETTERS:
        attr = s.literal(node.func.args[0]) if node.func.args else None
        if attr is None or sensitive(attr):
            s.add(Rule("obfuscation", "high", "reaches a dangerous function through operator"),
                  node.lineno, str(attr))  # fmt: skip
    if name.endswith(("path.join", "joinpath", "expanduser")) or name == "pathlib.Path":
        built = s.text(node)  # a path assembled in pieces: "Local Storage", "leveldb"
        if matching(built, "credential", "persistence"):
            judge_string(s, built, node.lineno, tricky=False)
    if name == "os.dup2":
        _dup2(s, node)
    if tail in _CLIPBOARD:
        s.add(Rule("spyware", "high", "reads or replaces the clipboard"), node.lineno, name)
    for kw in node.keywords if tail == "setup" else ():
        if kw.arg == "cmdclass":
            _cmdclass(s, kw.value)
    env = s.env_read(node)
    if env:
        _environment(s, env, node.lineno)
    if len(s.found) == before:
        rule = CALLS.get(name) or next((r for k, r in _PREFIX_CALLS if name.startswith(k)), None)
        if rule:
            s.add(rule, node.lineno, name)
    if len(s.found) == before:
        found = module_rule(name.removesuffix("()").split("()")[0])
        # proc.wait() on a Popen object starts nothing new; a socket's connect() is the act
        method = "()." in name and found is not None and found[1].rule in _CAPABILITIES
        if found and found[0] != "marshal" and not method:
            s.add(found[1], node.lineno, name)


def _decodes(s: Scope, node: ast.Call, tail: str) -> bool:
    """A base64/hex decoder, a codec decode, or zlib on a literal (not any gzip stream)."""
    if tail not in _DECODE_TAILS or not node.args:
        return False
    if tail == "decompress":
        return s.fold(node.args[0]) is not None
    if tail == "decode":
        return s.literal(node.args[0]) in _CODECS
    return True


def _code(s: Scope, node: ast.Call, name: str) -> None:
    code = s.literal(node.args[0]) if node.args else None
    if code is not None and s.inner is not None and len(code) < _MAX_INNER:
        for f in s.inner(code):  # what the string would do, reported where it is run
            if f.rule != "unparsable":
                s.add(
                    Rule(f.rule, f.severity, f"runs code that {f.message}"), node.lineno, f.detail
                )
    why = hidden(s, node)
    if why:
        rule = Rule("dynamic-code", "critical", f"executes {why}")
        s.add(rule, node.lineno, name)
        also(s, rule, node, HIDDEN)
    elif name == "compile" or (taint(s, node) & {FILE} and name in ("exec", "eval")):
        what = "compiles code at run time" if name == "compile" else "executes a file's text"
        s.add(Rule("dynamic-code", "medium", what), node.lineno, name)
    elif name in ("types.FunctionType", "types.CodeType"):
        s.add(CALLS[name], node.lineno, name)
    else:
        s.add(Rule("dynamic-code", "high", "executes code from a string"), node.lineno, name)


def _import(s: Scope, node: ast.Call, name: str) -> None:
    first = arg(node, 0, "name")
    got = s.fold(first) if first is not None else None
    if first is None:
        return
    if s.labels_of(first) & (HIDDEN - {OBF}):
        s.add(Rule("dynamic-import", "critical", "imports a module named by decoded or "
                   "downloaded data"), node.lineno, name)  # fmt: skip
    elif got is None and isinstance(first, ast.Subscript) and s.items(first.value):
        for choice in s.items(first.value) or []:
            if isinstance(choice.value, str) and module_rule(choice.value):
                s.add(module_rule(choice.value)[1], node.lineno, choice.value)  # type: ignore[index]
        s.add(Rule("dynamic-import", "low", "imports one of a fixed set of modules"),
              node.lineno, name)  # fmt: skip
    elif got is None or isinstance(got.value, int):
        # frameworks load configured modules with import_module; __import__(x) rarely is that
        sev = "high" if name == "__import__" else "medium"
        s.add(Rule("dynamic-import", sev, "imports a module whose name is computed"),
              node.lineno, name)  # fmt: skip
    elif got.tricky or (
        not (
            isinstance(first, ast.Constant) or (isinstance(first, ast.Name) and first.id in s.plain)
        )
        and _dangerous_module(got.value)
    ):
        s.add(Rule("dynamic-import", "high", "imports a module whose name is built from pieces"),
              node.lineno, str(got.value))  # fmt: skip
    else:
        s.add(Rule("dynamic-import", "low", "imports a module by name at run time"),
              node.lineno, name)  # fmt: skip
    if got is not None and not isinstance(got.value, int):
        module = got.value.decode("latin-1") if isinstance(got.value, bytes) else got.value
        found = module_rule(module)
        if found:
            s.add(found[1], node.lineno, module)


def _dangerous_module(value: str | bytes) -> bool:
    """A module name whose import is itself a finding (subprocess, socket, ctypes...)."""
    name = value.decode("latin-1") if isinstance(value, bytes) else value
    return name in ("os", "sys", "builtins", "importlib") or module_rule(name) is not None


def _getattr(s: Scope, node: ast.Call) -> None:
    if len(node.args) < 2:
        return
    owner = s.resolve(node.args[0])
    got = s.fold(node.args[1])
    value = got.value if got is not None else None
    if isinstance(value, str):
        if value in ("__import__", "__subclasses__", "__builtins__", "__globals__"):
            s.add(Rule("dynamic-import", "high", "reaches a sensitive attribute by name"),
                  node.lineno, repr(value))  # fmt: skip
        elif got is not None and got.tricky:
            sev = "high" if sensitive(value) else "medium"
            s.add(Rule("obfuscation", sev, "reaches an attribute whose name is spelled "
                       "indirectly"), node.lineno, repr(value))  # fmt: skip
        elif sensitive(value) and s.is_module(owner):
            probe = len(node.args) > 2  # getattr(sys, "_getframe", None): feature detection
            sev, what = ("low", "looks up") if probe else ("high", "calls")
            s.add(Rule("obfuscation", sev, f"{what} a dangerous function by its name"),
                  node.lineno, f"{owner}.{value}")  # fmt: skip
    elif value is None:
        if owner in ("builtins", "__builtins__") or s.labels_of(node.args[1]) & HIDDEN:
            s.add(Rule("obfuscation", "high", "reads a builtin by computed name"),
                  node.lineno, owner or "")  # fmt: skip
        elif s.is_module(owner):
            s.add(Rule("obfuscation", "medium", "reads a module attribute by computed name"),
                  node.lineno, owner or "")  # fmt: skip
        else:
            s.add(Rule("introspection", "low", "reads an attribute by computed name"),
                  node.lineno)  # fmt: skip


def _dup2(s: Scope, node: ast.Call) -> None:
    source = s.resolve(node.args[0]) if node.args else None
    onto_socket = bool(source) and "socket" in (source or "")
    sev, what = ("critical", "onto a socket (reverse shell)") if onto_socket else ("medium", "")
    s.add(Rule("reverse-shell", sev, f"redirects standard streams {what}".strip()), node.lineno)


def _cmdclass(s: Scope, value: ast.expr) -> None:
    keys: list[str] = []
    if isinstance(value, ast.Dict):
        keys = [s.literal(k) or "" for k in value.keys if k is not None]
    elif isinstance(value, ast.Call):
        keys = [k.arg for k in value.keywords if k.arg]
    sev = "high" if set(keys) & _INSTALL_COMMANDS or not keys else "medium"
    s.add(Rule("install-hook", sev, "replaces setup commands (code runs at install)"),
          value.lineno, ",".join(keys))  # fmt: skip


def _environment(s: Scope, env: tuple[str, str], line: int) -> None:
    label, var = env
    if label == ENVDUMP:
        s.add(Rule("environment-dump", "medium", "reads the whole environment"), line, "*")
    else:
        sev = "medium" if secret_name(var) else "low"
        s.add(Rule("environment", sev, f"reads the environment variable {var}"), line, var)
