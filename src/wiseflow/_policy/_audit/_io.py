"""Judging calls that touch files and the network: paths read or written, data sent out.

Paths are matched by what they name (credential stores, start-up files); data is judged
by its taint (a download saved as an executable, the environment posted to a server).
"""

from __future__ import annotations

import ast
import re
from typing import Final

from ._flow import EXEC_EXT, also, arg
from ._fold import UNKNOWN
from ._rules import Rule, matching
from ._scope import (
    DECODED,
    ENV,
    ENVDUMP,
    FILE,
    NET,
    SECRET,
    SPY,
    SYSINFO,
    USERFILES,
    Scope,
    secret_name,
)

__all__ = [
    "COPY_CALLS",
    "PATH_CALLS",
    "PATH_METHODS",
    "SEND_TAILS",
    "WRITE_CALLS",
    "judge_chmod",
    "judge_copy",
    "judge_destroy",
    "judge_open",
    "judge_retrieve",
    "judge_send",
    "judge_write",
    "path_rules",
]

_BINARY_EXT: Final = re.compile(r"\.(exe|scr|dll|so|dylib|sys|bat|cmd|ps1|vbs|msi|jar)$", re.I)


WRITE_CALLS: Final = frozenset({"write_text", "write_bytes"})


PATH_METHODS: Final = frozenset({"write_text", "write_bytes", "read_text", "read_bytes", "open"})


COPY_CALLS: Final = frozenset(
    {"shutil.copy", "shutil.copy2", "shutil.copyfile", "shutil.move", "os.rename", "os.replace",
     "os.symlink", "os.link", "shutil.copytree"}
)  # fmt: skip


PATH_CALLS: Final = frozenset(
    {"walk", "listdir", "scandir", "glob", "iglob", "copytree", "ZipFile", "connect", "rglob",
     "iterdir", "make_archive", "exists", "isfile", "isdir"}
)  # fmt: skip


_NET_PREFIXES: Final = (
    "requests.", "httpx.", "aiohttp.", "urllib3.", "urllib.request.", "urllib.", "urllib2.",
    "socket.", "smtplib.", "ftplib.", "http.client.", "dns.", "discord", "telegram", "dhooks",
    "pycurl.", "websocket", "paramiko.", "telnetlib.",
)  # fmt: skip


_NET_TAILS: Final = frozenset(
    {"urlopen", "sendmail", "sendall", "sendto", "storbinary", "storlines", "gethostbyname",
     "getaddrinfo", "execute_webhook", "send_message"}
)  # fmt: skip


SEND_TAILS: Final = frozenset(
    {"send", "sendall", "sendto", "sendmail", "send_message", "storbinary", "storlines",
     "post", "put", "patch", "request", "urlopen", "Request", "get", "fetch", "execute_webhook",
     "gethostbyname", "getaddrinfo", "resolve", "query"}
)  # fmt: skip


def judge_open(s: Scope, node: ast.Call, name: str) -> None:
    path_node: ast.AST | None = arg(node, 0, "file", "path")
    mode_node = arg(node, 1, "mode", "flags")
    tail = name.rsplit(".", 1)[-1]
    method = name not in ("open", "io.open", "codecs.open", "os.open", "gzip.open", "bz2.open")
    if method and isinstance(node.func, ast.Attribute):
        path_node = node.func.value
        if tail == "open":
            mode_node = arg(node, 0, "mode")
        else:
            mode_node = ast.Constant("w" if tail in WRITE_CALLS else "r")
    if path_node is None:
        return
    path = s.text(path_node)
    mode = s.literal(mode_node) if mode_node is not None else "r"
    writes = mode is None or any(c in mode for c in "wax+") or name == "os.open"
    if SECRET in s.labels_of(path_node) and not matching(path, "persistence", "credential"):
        _store(s, writes, node.lineno)
        return
    path_rules(s, path, writes, node.lineno)
    if writes and _BINARY_EXT.search(path):
        s.add(Rule("download-exec", "medium", "writes an executable or library file"),
              node.lineno, path)  # fmt: skip
    if writes and name.endswith(tuple(WRITE_CALLS)) and node.args:
        _written(s, path, s.labels_of(node.args[0]), node.lineno)


def path_rules(s: Scope, path: str, writes: bool, line: int, *, mention: bool = True) -> None:
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


def judge_copy(s: Scope, node: ast.Call) -> None:
    src, dst = arg(node, 0, "src"), arg(node, 1, "dst")
    if src is not None and SECRET in s.labels_of(src):
        s.add(Rule("credential-access", "high", "copies a credential store"), node.lineno)
    elif src is not None:
        path_rules(s, s.text(src), False, node.lineno)
    if dst is not None:
        path_rules(s, s.text(dst), True, node.lineno)


def judge_write(s: Scope, node: ast.Call, target: ast.expr, data: list[ast.expr]) -> None:
    path = None
    if isinstance(target, ast.Name):
        path = s.paths.get(target.id)
    elif isinstance(target, ast.Call):
        first = arg(target, 0, "file")
        path = s.text(first) if first is not None else None
    if SECRET in s.labels_of(target) and (path is None or not matching(path, "credential")):
        _store(s, True, node.lineno)
    if data and USERFILES in s.labels_of(target) and FILE in s.labels_of(data[0]):
        s.add(Rule("destruction", "high", "rewrites files found across the home folder "
                   "(ransomware)"), node.lineno)  # fmt: skip
    if path is not None and data:
        path_rules(s, path, True, node.lineno, mention=False)
    if data:
        _written(s, path if path is not None else UNKNOWN, s.labels_of(data[0]), node.lineno)


def _store(s: Scope, writes: bool, line: int) -> None:
    """A file reached through a credential-store path (a loop over a browser profile...)."""
    if writes:
        s.add(Rule("persistence", "critical", "writes into another program's data "
                   "(credential store or client injection)"), line)  # fmt: skip
    else:
        s.add(Rule("credential-access", "high", "reads a credential or wallet store"), line)


def judge_destroy(s: Scope, node: ast.Call, name: str) -> None:
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
        executable = bool(EXEC_EXT.search(path))
        sev = "high" if executable else "medium"
        what = "an executable" if executable else "a file"
        s.add(Rule("download-exec", sev, f"saves downloaded or decoded data as {what}"),
              line, path)  # fmt: skip
    elif labels & {ENVDUMP, SECRET, SPY}:
        s.add(Rule("exfiltration", "high", "collects secrets into a file"), line, path)
    elif labels & {ENV, SYSINFO}:
        s.add(Rule("exfiltration", "medium", "collects host or user data into a file"), line, path)


def judge_retrieve(s: Scope, node: ast.Call) -> None:
    dst = arg(node, 1, "filename")
    path = s.text(dst) if dst is not None else UNKNOWN
    s.downloaded.add(path)
    sev = "high" if EXEC_EXT.search(path) else "medium"
    s.add(Rule("download-exec", sev, "downloads a file"), node.lineno, path)
    path_rules(s, path, True, node.lineno)


def judge_chmod(s: Scope, node: ast.Call) -> None:
    path_node, mode_node = arg(node, 0, "path"), arg(node, 1, "mode")
    if path_node is None and isinstance(node.func, ast.Attribute):
        path_node, mode_node = node.func.value, arg(node, 0, "mode")
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


def judge_send(s: Scope, node: ast.Call, name: str) -> None:
    tail = name.rsplit(".", 1)[-1]
    if not _networky(name, tail):
        return
    labels: frozenset[str] = frozenset()
    auth: frozenset[str] = frozenset()
    for i, part in enumerate(node.args):
        if i == 0 and isinstance(part, (ast.Name, ast.Attribute, ast.Subscript)):
            continue  # the address itself, not data appended to it
        labels |= s.labels_of(part)
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
        also(s, rule, node, frozenset({ENVDUMP, SECRET}), names)
    elif labels & {ENV, SYSINFO, SPY}:
        rule = Rule("exfiltration", "high", "sends host or user data out")
        s.add(rule, line, names)
        also(s, rule, node, frozenset({ENV, SYSINFO, SPY}), names)
    elif auth & {ENVDUMP, SECRET}:
        s.add(Rule("exfiltration", "medium", "sends a credential in request headers"), line,
              names)  # fmt: skip
    elif FILE in labels:
        s.add(Rule("exfiltration", "medium", "sends file contents out"), line, names)
