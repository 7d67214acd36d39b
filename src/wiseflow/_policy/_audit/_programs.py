"""Judging a call that starts a program: what the command line says, and how it is run.

A literal ``git`` argv is a capability (low); a shell spawned bare, a command built at run
time under ``shell=True``, a download piped to ``sh``, a detached or hidden process are not.
"""

from __future__ import annotations

import ast
import re
from typing import Final

from ._flow import EXEC_EXT, arg, devnull, hidden
from ._fold import UNKNOWN
from ._rules import Rule, matching
from ._scope import (
    ENVDUMP,
    SECRET,
    Scope,
)

__all__ = ["judge_program"]

_SHELLS: Final = frozenset(
    {"sh", "bash", "zsh", "dash", "ksh", "csh", "fish", "cmd", "cmd.exe", "powershell",
     "powershell.exe", "pwsh", "python", "python3", "perl", "ruby", "node"}
)  # fmt: skip


_SILENT_FLAGS: Final = ("CREATE_NO_WINDOW", "DETACHED_PROCESS", "SW_HIDE", "STARTF_USESHOWWINDOW")


def _command(s: Scope, node: ast.Call) -> tuple[str, bool]:
    """The command line a program call runs, and whether it is fully literal."""
    first = arg(node, 0, "args", "cmd", "command", "path", "file")
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


def judge_program(s: Scope, node: ast.Call, name: str) -> None:
    text, literal = _command(s, node)
    line = node.lineno
    why = hidden(s, node)
    passed: frozenset[str] = frozenset()  # the child's env= and cwd= are not its command
    for part in [*node.args, *(k.value for k in node.keywords if k.arg not in ("env", "cwd"))]:
        passed |= s.labels_of(part)
    if why:
        s.add(Rule("download-exec", "critical", f"runs {why} as a command"), line, name)
        return
    for pat in matching(text, "payload", "persistence", "command")[:1]:
        sev = "critical" if pat.kind == "persistence" else pat.rule.severity
        if pat.kind == "command" and node.args and s.labels_of(node.args[0]):
            sev = "critical"
        s.add(Rule(pat.rule.rule, sev, f"runs a command that {pat.rule.message}"), line,
              text[:80])  # fmt: skip
        return
    if passed & {ENVDUMP, SECRET}:
        s.add(Rule("exfiltration", "high", "passes secrets on a command line"), line, name)
    kw = {k.arg: k.value for k in node.keywords if k.arg}
    nulls = [k for k in ("stdin", "stdout", "stderr") if k in kw and devnull(s, kw[k])]
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
        opens = name == "os.startfile" and (text in s.downloaded or bool(EXEC_EXT.search(text)))
        risky = forks or opens
        s.add(Rule("subprocess", "high" if risky else "low", "starts a program"), line, text[:80])
