"""Static audit of a plugin's source, before any of it runs (WF302).

Pure static analysis: the plugin's files are read, parsed and walked; nothing is imported
or executed. Modules, one job each:

- ``_files``: which files an entry can reach, and refusals for what cannot be read
  (non-UTF-8, FIFOs, huge files, symlinked folders, bytecode without its
  source, native extensions).
- ``_source``: one module's audit: parse and walk, or read line by line when it does not
  parse.
- ``_fold``: constant folding, to see through names and payloads built from pieces.
- ``_scope``: per-module aliases, folded values and a light taint (decoded, downloaded,
  environment, secret, image...); ``_bindings`` fills them in statement order.
- ``_scan``: the walk (imports, calls, attributes, names, namespace lookups);
  ``_calls``, ``_programs``, ``_io`` judge calls; ``_strings`` judges what strings name.
- ``_declared``: what the code does against what the manifest declares.
- ``_rules``: the tables and hints; ``_patterns``: telling strings; ``_severity``: the scale.
- ``_cache``: verdicts remembered by file content (a file audited before is not walked again).

Findings carry a rule, a severity (how sure the audit is that the statement is hostile),
a place and a hint. The operator's ``audit_block`` (``[policy]``) sets the severity from
which a plugin is refused; ``strict`` refuses from ``medium``. The audit is a first line,
not the boundary: sandboxed plugins are held by the kernel whatever the audit missed.
"""

from __future__ import annotations

from pathlib import Path

from ..._contract._errors import Problem
from ..._contract._manifest import Manifest
from ._cache import FindingsCache
from ._declared import Declared, against_manifest
from ._files import plugin_files
from ._fold import UNKNOWN
from ._rules import HINTS, RANK, SEVERITIES
from ._scope import Finding
from ._source import scan

__all__ = ["SEVERITIES", "FindingsCache", "audit_plugin", "audit_source", "blocking"]


def _merged(findings: list[Finding]) -> list[Finding]:
    """One finding per (line, rule), the most severe, in line order."""
    best: dict[tuple[int, str], Finding] = {}
    for f in findings:
        key = (f.line, f.rule)
        if key not in best or RANK[f.severity] > RANK[best[key].severity]:
            best[key] = f
    return sorted(best.values(), key=lambda f: (f.line, -RANK[f.severity], f.rule))


def audit_source(
    source: str, file: str, declared: Declared | None = None
) -> list[tuple[str, str, str, int]]:
    """(rule, severity, message, line) for each finding in ``source``.

    Without ``declared`` the code is rated on its own; with it, against what a manifest
    declares (see ``_declared``).
    """
    found = _merged(scan(source, file))
    if declared is not None:
        found = [against_manifest(f, declared) for f in found]
    return [(f.rule, f.severity, f.message, f.line) for f in found]


def audit_plugin(
    manifest: Manifest, root: Path | None = None, cache: FindingsCache | None = None
) -> list[Problem]:
    """Every finding in the plugin's folder, as WF302 problems with rule and severity.

    With ``cache``, a file whose text (and path) was audited before by this audit's code is
    not walked again (``_cache``); everything else runs as without it.
    """
    folder = root or manifest.root
    if folder is None or not folder.is_dir():
        return []
    declared = Declared.of(manifest.permissions)
    problems: list[Problem] = []
    for item in plugin_files(folder):
        if item.refused is not None:
            found = [item.refused]
        else:
            assert item.source is not None
            found = [against_manifest(f, declared) for f in _walked(item.source, item.path, cache)]
        for f in found:
            problems.append(
                Problem(
                    code="WF302",
                    message=_message(item.path.name, f),
                    hint=HINTS.get(f.rule),
                    file=str(item.path),
                    line=f.line or None,
                    plugin=manifest.name,
                    rule=f.rule,
                    severity=f.severity,
                )
            )
    return problems


def _walked(source: str, path: Path, cache: FindingsCache | None) -> list[Finding]:
    """What the walk of one file finds (merged), from ``cache`` when it has it."""
    if cache is None:
        return _merged(scan(source, str(path)))
    key = cache.key(str(path), source)
    if key is None:
        return _merged(scan(source, str(path)))
    found = cache.get(key)
    if found is None:
        found = _merged(scan(source, str(path)))
        cache.put(key, found)
    return found


def _message(file: str, f: Finding) -> str:
    """The problem's text; plugin-chosen text in it is shown, never interpreted."""
    detail = f.detail.replace(UNKNOWN, "…")  # parts only known at run time
    shown = f" ({detail})" if detail and detail not in f.message else ""
    return _printable(f"{file}: {f.message}{shown}")


def _printable(text: str) -> str:
    """Control characters (ESC sequences, C1, RS/FS...) spelled as escapes."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def blocking(problems: list[Problem], threshold: str) -> list[Problem]:
    """The findings at or above ``threshold`` (``none``: nothing blocks), worst first."""
    if threshold == "none":
        return []
    floor = RANK[threshold]
    found = [p for p in problems if RANK.get(p.severity or "info", 0) >= floor]
    return sorted(found, key=lambda p: -RANK.get(p.severity or "info", 0))


def _lowered(rule: str, severity: str, manifest: Manifest) -> str:
    """The severity of a ``rule`` finding once ``manifest``'s declarations are counted."""
    finding = Finding(rule, severity, "", 0)
    return against_manifest(finding, Declared.of(manifest.permissions)).severity
