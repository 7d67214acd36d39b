"""``wiseflow plugins check``: every problem of one plugin, found without trusting it.

Manifest (WF101), compatibility and dependencies (WF2xx), identity and integrity (WF104,
WF303), audit (WF302), entry and interface (WF102, WF103) and the operator's config for it
(WF105). Problems are collected, not raised: a broken manifest does not hide a broken
interface. Vetting is inert: the plugin's code is only ever imported in a worker at level
``strict`` — never in the host, whatever level its name is configured at — and a plugin
whose files differ from its approval is not imported at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from .._contract._errors import (
    IntegrityError,
    InterfaceError,
    ManifestError,
    Problem,
    WiseflowError,
)
from .._contract._manifest import (
    ENTRY_RE,
    KINDS,
    NAME_RE,
    PLACEHOLDER_RE,
    Manifest,
    load_manifest,
)
from .._contract._suggest import did_you_mean
from .._contract._toml import TomlProblem, loads
from .._discovery import Candidate
from .._policy._audit import audit_plugin, blocking
from .._policy._identity import origin_of
from .._resolve import resolve
from ._locate import import_root
from ._locate import manifest_path as locate_manifest
from ._manager import PluginManager

__all__ = ["CheckReport", "check_plugin"]


class CheckReport(msgspec.Struct, frozen=True, kw_only=True):
    plugin: str
    ok: bool
    problems: tuple[Problem, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "plugin": self.plugin,
            "ok": self.ok,
            "problems": [p.to_dict() for p in self.problems],
        }


def _lenient_manifest(path: Path) -> Manifest | None:
    """Enough of a broken manifest to still check the code (name, kind, entry usable)."""
    try:
        doc = loads(path.read_text(encoding="utf-8")).get("plugin", {})
    except (OSError, UnicodeDecodeError, TomlProblem):
        return None
    if not isinstance(doc, dict):
        return None
    name, kind, entry = doc.get("name"), doc.get("kind"), doc.get("entry")
    if not (isinstance(name, str) and NAME_RE.match(name)):
        name = path.parent.name.lower().replace("_", "-")
        if not NAME_RE.match(name):
            return None
    if kind not in KINDS or not (isinstance(entry, str) and ENTRY_RE.match(entry)):
        return None
    return Manifest(name=name, version="0", kind=str(kind), entry=entry, path=str(path))


def check_plugin(pm: PluginManager, target: str) -> CheckReport:
    """Check a plugin folder (or its ``plugin.toml``) or an installed plugin by name."""
    problems: list[Problem] = []
    path = Path(target)
    cand: Candidate | None = None
    label = target
    if path.exists() or "/" in target or target.endswith(".toml"):
        manifest_path = locate_manifest(path)  # or a project folder's package
        manifest: Manifest | None
        try:
            manifest = load_manifest(manifest_path)
        except ManifestError as exc:
            problems.extend(exc.as_problems())
            manifest = _lenient_manifest(manifest_path)
        if manifest is not None:
            label = manifest.name
            cand = Candidate(
                manifest=manifest, origin="dir", location=str(manifest_path.parent.resolve()),
                code_root=str(import_root(manifest_path.parent, manifest.entry).resolve()),
            )  # fmt: skip
    else:
        # the candidate that answers to the name: a folder refused the name (WF104) or a
        # broken manifest claiming it is reported, but never checked or blamed in its place
        matches = [c for c in pm.admission().candidates if c.manifest.name == target]
        claims = pm.problems_for([target])  # found, but broken or refused the name
        problems.extend(claims)
        if not matches and not claims:
            problems.append(
                Problem(
                    code="WF602",
                    message=f"no plugin named '{target}' was found"
                    + did_you_mean(target, (c.manifest.name for c in pm.discover().candidates)),
                    hint="give a plugin folder path, or check `wiseflow plugins list`",
                    plugin=target,
                )
            )
        elif matches:
            cand = max(matches, key=lambda c: c.manifest.parsed_version)
    if cand is not None:
        problems.extend(_check_candidate(pm, cand, has_manifest_problems=bool(problems)))
    return CheckReport(plugin=label, ok=not problems, problems=tuple(problems))


def _identity_problems(
    pm: PluginManager, cand: Candidate
) -> tuple[list[Problem], bool, dict[str, str] | None]:
    """(WF104/WF303 problems, whether the code may be imported at all, approved digests)."""
    name, origin = cand.manifest.name, origin_of(cand)

    # would the name be refused to this candidate? (also for a folder outside plugin_dirs,
    # vetted before it is installed: admitted among what is installed, in its place)
    def same(c: Candidate) -> bool:
        return c.manifest.name == name and origin_of(c) == origin

    pool = [cand if same(c) else c for c in pm.discover().candidates]
    admission = pm.admit_candidates(pool if any(c is cand for c in pool) else [*pool, cand])
    problems = [p for c, p in admission.refused if c is cand]
    try:
        files = pm.verify(cand)
    except IntegrityError as exc:
        return [*problems, *_located(exc, cand)], False, None  # changed code never imported
    return problems, True, files


def _check_candidate(
    pm: PluginManager, cand: Candidate, *, has_manifest_problems: bool
) -> list[Problem]:
    problems: list[Problem] = []
    name = cand.manifest.name
    if not has_manifest_problems:
        others = [c for c in pm.discover().candidates if c.manifest.name != name]
        resolution = resolve([cand, *others], want=[name])
        problems.extend(p for p in resolution.problems)
    found, importable, files = _identity_problems(pm, cand)
    problems.extend(found)
    # the plugin's own folder (its manifest's), not the import root above a package
    root = cand.manifest.root or (Path(cand.code_root) if cand.code_root else None)
    problems.extend(blocking(audit_plugin(cand.manifest, root), pm.audit_threshold(name)))
    if not importable:
        return problems
    handle = None
    config = dict(pm.config.plugin(name).config)
    try:
        # a strict worker, never the host: checking a folder must not run it with the
        # level (or grants) of the name it claims
        handle = pm.probe(f"check-{name}", cand, config, files=files, level="strict", check=True)
        try:
            handle.runner.load()
        except InterfaceError as exc:  # the class imported: its config can still be checked
            problems.extend(_located(exc, cand))
        for row in getattr(handle.runner, "load_problems", ()):
            problem = msgspec.convert(row, type=Problem)
            problems.append(
                msgspec.structs.replace(problem, file=problem.file or cand.manifest.path)
            )
        problems.extend(_placeholder_problems(cand, handle.runner.config_schema()))
        if config:
            handle.runner.check_config(config)
    except WiseflowError as exc:
        problems.extend(_located(exc, cand))
    finally:
        if handle is not None:
            handle.runner.close()
    return problems


def _located(exc: WiseflowError, cand: Candidate) -> list[Problem]:
    """``exc`` as problems of ``cand``'s manifest, naming the plugin as the manifest does
    (the worker's instance, ``check-NAME``, is the host's, never shown)."""
    name = cand.manifest.name
    return [
        msgspec.structs.replace(
            p,
            file=p.file or cand.manifest.path,
            plugin=name if p.plugin in (None, f"check-{name}") else p.plugin,
        )
        for p in exc.as_problems()
    ]


def _placeholder_problems(cand: Candidate, schema: dict[str, Any] | None) -> list[Problem]:
    """Every ``{field}`` in [plugin.permissions] must name a field of the plugin's Config."""
    fields: set[str] = set()
    for definition in (schema or {}).get("$defs", {}).values():
        fields.update(definition.get("properties", {}))
    perms = cand.manifest.permissions
    out = []
    for kind, entries in (
        ("network", perms.network), ("env", perms.env),
        ("fs_read", perms.fs_read), ("fs_write", perms.fs_write),
    ):  # fmt: skip
        for entry in entries:
            m = PLACEHOLDER_RE.match(entry)
            if m and m.group(1) not in fields:
                out.append(
                    Problem(
                        code="WF101",
                        message=f"plugin.permissions.{kind}: {entry} names no field of the "
                        "plugin's Config, so it can never be granted",
                        hint=f"add a `{m.group(1)}` field to Config or fix the placeholder",
                        file=cand.manifest.path,
                        plugin=cand.manifest.name,
                    )
                )
    return out
