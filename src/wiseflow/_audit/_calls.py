"""Judging one call: code sinks, imports, attribute indirection, programs, network, files.

Each ``judge_*`` looks at a call that the scope has resolved (``sp.Popen`` ->
``subprocess.Popen``) and adds findings whose severity follows from what flows into it:
a decoded blob into ``exec`` is critical, a literal ``git`` command is low.
"""

from __future__ import annotations

import ast
import re
from typing import Final

from ._fold import UNKNOWN
from ._rules import CALLS, CODE_SINKS, MODULES, SUBPROCESS_CALLS, Rule, matching
from ._scope import (
    DECODED,
    ENV,
    ENVDUMP,
    FILE,
    HIDDEN,
    IMAGE,
    NET,
    OBF,
    SECRET,
    SPY,
    SYSINFO,
    USERFILES,
    Scope,
    secret_name,
    sensitive,
)

__all__ = ["judge_call", "module_rule"]

_SHELLS: Final = frozenset(
    {"sh", "bash", "zsh", "dash", "ksh", "csh", "fish", "cmd", "cmd.exe", "powershell",
     "powershell.exe", "pwsh", "python", "python3", "perl", "ruby", "node"}
)  # fmt: skip
_EXEC_EXT: Final = re.compile(
    r"\.(exe|scr|bat|cmd|ps1|vbs|js|jar|msi|dll|so|dylib|sh|elf|py|pyw|pyc|app)$|"
    r"/(bin|tmp)/[^/.]+$",
    re.IGNORECASE,
)
_BINARY_EXT: Final = re.compile(r"\.(exe|scr|dll|so|dylib|sys|bat|cmd|ps1|vbs|msi|jar)$", re.I)
_SILENT_FLAGS: Final = ("CREATE_NO_WINDOW", "DETACHED_PROCESS", "SW_HIDE", "STARTF_USESHOWWINDOW")
_IMPORTERS: Final = frozenset({"__import__", "importlib.import_module", "importlib.__import__"})
_WRITE_CALLS: Final = frozenset({"write_text", "write_bytes"})
_PATH_METHODS: Final = frozenset({"write_text", "write_bytes", "read_text", "read_bytes", "open"})
_COPY_CALLS: Final = frozenset(
    {"shutil.copy", "shutil.copy2", "shutil.copyfile", "shutil.move", "os.rename", "os.replace",
     "os.symlink", "os.link", "shutil.copytree"}
)  # fmt: skip
_SEND_TAILS: Final = frozenset(
    {"send", "sendall", "sendto", "sendmail", "send_message", "storbinary", "storlines",
     "post", "put", "patch", "request", "urlopen", "Request", "get", "fetch", "execute_webhook",
     "gethostbyname", "getaddrinfo", "resolve", "query"}
)  # fmt: skip
_PREFIX_CALLS: Final = [(k, r) for k, r in CALLS.items() if k.endswith(("exec", "spawn"))]
_PATH_CALLS: Final = frozenset(
    {"walk", "listdir", "scandir", "glob", "iglob", "copytree", "ZipFile", "connect", "rglob",
     "iterdir", "make_archive", "exists", "isfile", "isdir"}
)  # fmt: skip
_INSTALL_COMMANDS: Final = frozenset({"install", "develop", "egg_info", "easy_install"})
_NET_PREFIXES: Final = (
    "requests.", "httpx.", "aiohttp.", "urllib3.", "urllib.request.", "urllib.", "urllib2.",
    "socket.", "smtplib.", "ftplib.", "http.client.", "dns.", "discord", "telegram", "dhooks",
    "pycurl.", "websocket", "paramiko.", "telnetlib.",
)  # fmt: skip
_NET_TAILS: Final = frozenset(
    {"urlopen", "sendmail", "sendall", "sendto", "storbinary", "storlines", "gethostbyname",
     "getaddrinfo", "execute_webhook", "send_message"}
)  # fmt: skip
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


def module_rule(module: str) -> tuple[str, Rule] | None:
    """The table entry for ``module`` or its closest parent."""
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        key = ".".join(parts[:i])
        if key in MODULES:
            return key, MODULES[key]
    return None


def _arg(node: ast.Call, index: int, *names: str) -> ast.expr | None:
    if len(node.args) > index and not isinstance(node.args[index], ast.Starred):
        return node.args[index]
    for kw in node.keywords:
        if kw.arg in names:
            return kw.value
    return None


def _taint(s: Scope, node: ast.Call) -> frozenset[str]:
    out: frozenset[str] = frozenset()
    for part in [*node.args, *(k.value for k in node.keywords)]:
        out |= s.labels_of(part)
    return out


def _hidden(s: Scope, node: ast.Call) -> str | None:
    """Why the data passed to ``node`` is hidden code, if it is."""
    labels = _taint(s, node)
    for arg in node.args[:1]:
        got = s.fold(arg)
        if got is not None and got.tricky:
            labels |= {OBF}
    if DECODED in labels:
        return "decoded code (base64/hex/zlib/marshal)"
    if NET in labels:
        return "code downloaded from the network"
    if IMAGE in labels:
        return "data hidden in an image (steganography)"
    if OBF in labels:
        return "code built from obfuscated pieces"
    return None


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
        _program(s, node, name)
    if name in ("open", "io.open", "codecs.open", "os.open") or (
        tail in _PATH_METHODS and isinstance(node.func, ast.Attribute)
    ):
        _open(s, node, name)
    elif name in _COPY_CALLS:
        _copy(s, node)
    elif tail in ("write", "writelines", "writestr") and isinstance(node.func, ast.Attribute):
        _write(s, node, node.func.value, node.args[:1])
    elif tail in ("dump", "dumps") and len(node.args) >= 2:
        _write(s, node, node.args[1], node.args[:1])
    elif tail in _PATH_CALLS and node.args:
        _path_rules(s, s.text(node.args[0]), False, node.lineno, mention=False)
        if USERFILES in s.source_labels(name, node):
            s.add(Rule("file-access", "medium", "walks the whole home or root folder"),
                  node.lineno)  # fmt: skip
    elif tail in ("rmtree", "remove", "unlink", "rmdir") and node.args:
        _destroy(s, node, name)
    elif name.endswith("urlretrieve"):
        _retrieve(s, node)
    elif name in ("os.chmod", "pathlib.Path.chmod") or tail == "chmod":
        _chmod(s, node)
    if tail in _SEND_TAILS or name.startswith(("requests.", "httpx.", "aiohttp.", "urllib3.")):
        _send(s, node, name)
    if tail == "execute" and node.args and matching(s.text(node.args[0]), "credential"):
        s.add(Rule("credential-access", "high", "queries a credential database"), node.lineno)
    if _decodes(s, node, tail):
        s.add(Rule("obfuscation", "low", "decodes data (base64/hex/zlib)"), node.lineno, name)
    if name.endswith(("exec_module", "load_module")):
        s.add(Rule("dynamic-import", "medium", "executes a module loaded by path"), node.lineno)
    if name == "importlib.util.spec_from_file_location" and len(node.args) > 1:
        where = s.text(node.args[1])
        if where.startswith(("/", "~", UNKNOWN)) or "tmp" in where.lower():
            s.add(Rule("dynamic-import", "high", "imports code from a file outside the plugin"),
                  node.lineno, where)  # fmt: skip
    if isinstance(node.func, ast.Call) and s.resolve(node.func.func) in _ATTRGETTERS:
        attr = s.literal(node.func.args[0]) if node.func.args else None
        if attr is None or sensitive(attr):
            s.add(Rule("obfuscation", "high", "reaches a dangerous function through operator"),
                  node.lineno, str(attr))  # fmt: skip
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
        if found and found[0] != "marshal":
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


def _devnull(s: Scope, node: ast.expr) -> bool:
    what = s.resolve(node) or s.text(node)
    return "DEVNULL" in what or "devnull" in what


def _also(s: Scope, rule: Rule, node: ast.Call, labels: frozenset[str], detail: str = "") -> None:
    """Report ``rule`` also on the lines of multi-line arguments that carry ``labels``."""
    lines = {node.lineno}
    for part in [*node.args, *(k.value for k in node.keywords)]:
        if part.lineno not in lines and s.labels_of(part) & labels:
            lines.add(part.lineno)
            s.add(rule, part.lineno, detail)


def _code(s: Scope, node: ast.Call, name: str) -> None:
    code = s.literal(node.args[0]) if node.args else None
    if code is not None and s.inner is not None and len(code) < _MAX_INNER:
        for f in s.inner(code):  # what the string would do, reported where it is run
            if f.rule != "unparsable":
                s.add(
                    Rule(f.rule, f.severity, f"runs code that {f.message}"), node.lineno, f.detail
                )
    why = _hidden(s, node)
    if why:
        rule = Rule("dynamic-code", "critical", f"executes {why}")
        s.add(rule, node.lineno, name)
        _also(s, rule, node, HIDDEN)
    elif name == "compile" or (_taint(s, node) & {FILE} and name in ("exec", "eval")):
        what = "compiles code at run time" if name == "compile" else "executes a file's text"
        s.add(Rule("dynamic-code", "medium", what), node.lineno, name)
    elif name in ("types.FunctionType", "types.CodeType"):
        s.add(CALLS[name], node.lineno, name)
    else:
        s.add(Rule("dynamic-code", "high", "executes code from a string"), node.lineno, name)


def _import(s: Scope, node: ast.Call, name: str) -> None:
    first = _arg(node, 0, "name")
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


def _command(s: Scope, node: ast.Call) -> tuple[str, bool]:
    """The command line a program call runs, and whether it is fully literal."""
    first = _arg(node, 0, "args", "cmd", "command", "path", "file")
    if first is None:
        return UNKNOWN, False
    if isinstance(first, (ast.List, ast.Tuple)):
        parts = [s.text(e) for e in first.elts]
        text = " ".join(parts)
    else:
        text = s.text(first)
    rest = [s.text(a) for a in node.args[1:] if isinstance(a, (ast.Constant, ast.Name))]
    text = " ".join([text, *rest]) if rest and not isinstance(first, ast.List) else text
    return text, UNKNOWN not in text


def _program(s: Scope, node: ast.Call, name: str) -> None:
    text, literal = _command(s, node)
    line = node.lineno
    hidden = _hidden(s, node)
    taint: frozenset[str] = frozenset()
    for part in [*node.args, *(k.value for k in node.keywords if k.arg not in ("env", "cwd"))]:
        taint |= s.labels_of(part)
    if hidden:
        s.add(Rule("download-exec", "critical", f"runs {hidden} as a command"), line, name)
        return
    for pat in matching(text, "payload", "persistence", "command")[:1]:
        sev = "critical" if pat.kind == "persistence" else pat.rule.severity
        if pat.kind == "command" and node.args and s.labels_of(node.args[0]):
            sev = "critical"
        s.add(Rule(pat.rule.rule, sev, f"runs a command that {pat.rule.message}"), line,
              text[:80])  # fmt: skip
        return
    if taint & {ENVDUMP, SECRET}:
        s.add(Rule("exfiltration", "high", "passes secrets on a command line"), line, name)
    kw = {k.arg: k.value for k in node.keywords if k.arg}
    nulls = [k for k in ("stdin", "stdout", "stderr") if k in kw and _devnull(s, kw[k])]
    flags = ast.dump(kw["creationflags"]) if "creationflags" in kw else ""
    session = kw.get("start_new_session")
    detached = (
        any(f in flags for f in _SILENT_FLAGS)
        or "0x08000000" in flags
        or (isinstance(session, ast.Constant) and bool(session.value))
        or bool(re.search(r"(>\s*/dev/null|>\s*nul)\b.*2>&1|\bnohup\b|&\s*$|\bpythonw\b", text))
    )
    if not detached and len(nulls) == 2 and "stdin" not in nulls:
        s.add(Rule("silent-process", "medium", "discards a program's output"), line, text[:80])
    elif detached or len(nulls) == 3:
        s.add(Rule("silent-process", "high", "starts a program silently (no output, detached)"),
              line, text[:80])  # fmt: skip
        return
    words = text.split()
    program = words[0].rsplit("/", 1)[-1].rsplit("\\", 1)[-1].lower() if words else UNKNOWN
    shell = "shell" in kw and isinstance(kw["shell"], ast.Constant) and bool(kw["shell"].value)
    if program in _SHELLS and (len(words) == 1 or name == "pty.spawn"):
        s.add(Rule("subprocess", "high", "spawns an interactive shell or interpreter"),
              line, text[:80])  # fmt: skip
    elif program in _SHELLS and len(words) > 1 and words[1] in ("-c", "/c", "-e", "-Command"):
        sev = "medium" if literal else "high"
        s.add(Rule("subprocess", sev, "runs code through a shell or interpreter"), line, text[:80])
    elif program.startswith(UNKNOWN) and (
        shell or name in ("os.system", "os.popen", "commands.getoutput")
    ):
        s.add(Rule("subprocess", "high", "runs a shell command built at run time"), line, name)
    elif not literal and UNKNOWN not in program:
        s.add(Rule("subprocess", "medium", f"runs {program} with arguments built at run time"),
              line, text[:80])  # fmt: skip
    elif not literal:
        s.add(Rule("subprocess", "medium", "starts a program named at run time"), line, name)
    else:
        forks = name in ("os.fork", "os.forkpty")
        opens = name == "os.startfile" and (text in s.downloaded or bool(_EXEC_EXT.search(text)))
        risky = forks or opens
        s.add(Rule("subprocess", "high" if risky else "low", "starts a program"), line, text[:80])


def _open(s: Scope, node: ast.Call, name: str) -> None:
    path_node: ast.AST | None = _arg(node, 0, "file", "path")
    mode_node = _arg(node, 1, "mode", "flags")
    tail = name.rsplit(".", 1)[-1]
    method = name not in ("open", "io.open", "codecs.open", "os.open", "gzip.open", "bz2.open")
    if method and isinstance(node.func, ast.Attribute):
        path_node = node.func.value
        if tail == "open":
            mode_node = _arg(node, 0, "mode")
        else:
            mode_node = ast.Constant("w" if tail in _WRITE_CALLS else "r")
    if path_node is None:
        return
    path = s.text(path_node)
    mode = s.literal(mode_node) if mode_node is not None else "r"
    writes = mode is None or any(c in mode for c in "wax+") or name == "os.open"
    if SECRET in s.labels_of(path_node) and not matching(path, "persistence", "credential"):
        _store(s, writes, node.lineno)
        return
    _path_rules(s, path, writes, node.lineno)
    if writes and _BINARY_EXT.search(path):
        s.add(Rule("download-exec", "medium", "writes an executable or library file"),
              node.lineno, path)  # fmt: skip
    if writes and name.endswith(tuple(_WRITE_CALLS)) and node.args:
        _written(s, path, s.labels_of(node.args[0]), node.lineno)


def _path_rules(s: Scope, path: str, writes: bool, line: int, *, mention: bool = True) -> None:
    for pat in matching(path, "persistence", "credential")[:1]:
        if writes:
            what = "an autostart or start-up file" if pat.kind == "persistence" else path
            s.add(Rule("persistence", "critical", f"writes {what}"), line, path)
        else:
            s.add(Rule(pat.rule.rule, "high", f"reads a file that {pat.rule.message}"), line,
                  path)  # fmt: skip
        return
    if mention and not writes and (path.startswith(("/", "~")) or re.match(r"[A-Za-z]:\\", path)):
        s.add(Rule("file-access", "low", "reads a file outside its own folder"), line, path)


def _copy(s: Scope, node: ast.Call) -> None:
    src, dst = _arg(node, 0, "src"), _arg(node, 1, "dst")
    if src is not None and SECRET in s.labels_of(src):
        s.add(Rule("credential-access", "high", "copies a credential store"), node.lineno)
    elif src is not None:
        _path_rules(s, s.text(src), False, node.lineno)
    if dst is not None:
        _path_rules(s, s.text(dst), True, node.lineno)


def _write(s: Scope, node: ast.Call, target: ast.expr, data: list[ast.expr]) -> None:
    path = None
    if isinstance(target, ast.Name):
        path = s.paths.get(target.id)
    elif isinstance(target, ast.Call):
        first = _arg(target, 0, "file")
        path = s.text(first) if first is not None else None
    if SECRET in s.labels_of(target) and (path is None or not matching(path, "credential")):
        _store(s, True, node.lineno)
    if data and USERFILES in s.labels_of(target) and FILE in s.labels_of(data[0]):
        s.add(Rule("destruction", "high", "rewrites files found across the home folder "
                   "(ransomware)"), node.lineno)  # fmt: skip
    if path is not None and data:
        _path_rules(s, path, True, node.lineno, mention=False)
    if data:
        _written(s, path if path is not None else UNKNOWN, s.labels_of(data[0]), node.lineno)


def _store(s: Scope, writes: bool, line: int) -> None:
    """A file reached through a credential-store path (a loop over a browser profile...)."""
    if writes:
        s.add(Rule("persistence", "critical", "writes into another program's data "
                   "(credential store or client injection)"), line)  # fmt: skip
    else:
        s.add(Rule("credential-access", "high", "reads a credential or wallet store"), line)


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


def _destroy(s: Scope, node: ast.Call, name: str) -> None:
    if not name.startswith(("os.", "shutil.", "pathlib.")):
        return  # list.remove, set.remove...
    target = node.args[0]
    if USERFILES in s.labels_of(target):
        s.add(Rule("destruction", "high", "deletes files found across the home folder"),
              node.lineno)  # fmt: skip
        return
    if (isinstance(target, ast.Name) and target.id == "__file__") or (
        isinstance(target, ast.Subscript) and s.resolve(target.value) == "sys.argv"
    ):
        s.add(Rule("destruction", "medium", "deletes its own file (covers its tracks)"),
              node.lineno)  # fmt: skip
        return
    path = s.text(target).rstrip("/\\")
    if path in ("/", "~", "/home", "/etc", "/usr", "C:", "C:\\Windows", "/var") or (
        path.startswith("~") and path.count("/") <= 1 and UNKNOWN not in path
    ):
        s.add(Rule("destruction", "high", "deletes the user's or the system's files"),
              node.lineno, path)  # fmt: skip


def _written(s: Scope, path: str, labels: frozenset[str], line: int) -> None:
    if NET in labels or DECODED in labels:
        s.downloaded.add(path)
        executable = bool(_EXEC_EXT.search(path))
        sev = "high" if executable else "medium"
        what = "an executable" if executable else "a file"
        s.add(Rule("download-exec", sev, f"saves downloaded or decoded data as {what}"),
              line, path)  # fmt: skip
    elif labels & {ENVDUMP, SECRET, SPY}:
        s.add(Rule("exfiltration", "high", "collects secrets into a file"), line, path)
    elif labels & {ENV, SYSINFO}:
        s.add(Rule("exfiltration", "medium", "collects host or user data into a file"), line, path)


def _retrieve(s: Scope, node: ast.Call) -> None:
    dst = _arg(node, 1, "filename")
    path = s.text(dst) if dst is not None else UNKNOWN
    s.downloaded.add(path)
    sev = "high" if _EXEC_EXT.search(path) else "medium"
    s.add(Rule("download-exec", sev, "downloads a file"), node.lineno, path)
    _path_rules(s, path, True, node.lineno)


def _chmod(s: Scope, node: ast.Call) -> None:
    path_node, mode_node = _arg(node, 0, "path"), _arg(node, 1, "mode")
    if path_node is None and isinstance(node.func, ast.Attribute):
        path_node, mode_node = node.func.value, _arg(node, 0, "mode")
    mode = s.fold(mode_node) if mode_node is not None else None
    text = ast.dump(mode_node) if mode_node is not None else ""
    executable = (mode is not None and isinstance(mode.value, int) and mode.value & 0o111) or any(
        f in text for f in ("S_IEXEC", "S_IXUSR", "S_IXGRP", "S_IXOTH", "S_IRWXU")
    )
    if executable:
        path = s.text(path_node) if path_node is not None else UNKNOWN
        sev = "high" if path in s.downloaded else "medium"
        s.add(Rule("download-exec", sev, "makes a file executable"), node.lineno, path)


def _networky(name: str, tail: str) -> bool:
    return name.startswith(_NET_PREFIXES) or ".http." in f".{name}" or tail in _NET_TAILS


def _send(s: Scope, node: ast.Call, name: str) -> None:
    tail = name.rsplit(".", 1)[-1]
    if not _networky(name, tail):
        return
    labels: frozenset[str] = frozenset()
    auth: frozenset[str] = frozenset()
    for i, arg in enumerate(node.args):
        if i == 0 and isinstance(arg, (ast.Name, ast.Attribute, ast.Subscript)):
            continue  # the address itself, not data appended to it
        labels |= s.labels_of(arg)
    for kw in node.keywords:
        if kw.arg in ("headers", "auth", "cookies"):
            auth |= s.labels_of(kw.value)
        elif kw.arg not in ("url", "timeout", "verify", "proxies", "cert"):
            labels |= s.labels_of(kw.value)
    seen = labels | auth
    variables = {v[4:] for v in seen if v.startswith("var:")}
    if seen & {ENVDUMP, SYSINFO, SPY, FILE} or (
        SECRET in seen and not any(secret_name(v) for v in variables)
    ):
        variables.add("*")  # more than named variables: no declaration covers it
    names = ",".join(sorted(variables))
    line = node.lineno
    if labels & {ENVDUMP, SECRET}:
        rule = Rule("exfiltration", "critical", "sends the environment or credentials out")
        s.add(rule, line, names)
        _also(s, rule, node, frozenset({ENVDUMP, SECRET}), names)
    elif labels & {ENV, SYSINFO, SPY}:
        rule = Rule("exfiltration", "high", "sends host or user data out")
        s.add(rule, line, names)
        _also(s, rule, node, frozenset({ENV, SYSINFO, SPY}), names)
    elif auth & {ENVDUMP, SECRET}:
        s.add(Rule("exfiltration", "medium", "sends a credential in request headers"), line,
              names)  # fmt: skip
    elif FILE in labels:
        s.add(Rule("exfiltration", "medium", "sends file contents out"), line, names)


def _environment(s: Scope, env: tuple[str, str], line: int) -> None:
    label, var = env
    if label == ENVDUMP:
        s.add(Rule("environment-dump", "medium", "reads the whole environment"), line, "*")
    else:
        sev = "medium" if secret_name(var) else "low"
        s.add(Rule("environment", sev, f"reads the environment variable {var}"), line, var)
