"""One legacy plugin folder: what its plugin.toml says, and why (the ``assumed`` list)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._read import (
    LegacyClass,
    Module,
    is_legacy,
    kind_from_methods,
    kind_of,
    methods_of,
)
from ._uses import Uses

__all__ = ["Plan", "normalise", "plan_folder"]

API = ">=1,<2"
_NAME_CHARS = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@dataclass
class Plan:
    """What migrate decided for one folder (``problems`` set: nothing can be written)."""

    folder: Path
    name: str = ""
    kind: str = ""
    entry: str = ""
    version: str = "0.0.0"
    description: str = ""
    requires: dict[str, str] = field(default_factory=dict)
    assumed: list[str] = field(default_factory=list)
    problems: list[dict[str, str]] = field(default_factory=list)
    uses: Uses = field(default_factory=Uses)

    def problem(self, code: str, message: str, hint: str) -> Plan:
        self.problems.append({"code": code, "message": message, "hint": hint})
        return self

    def grants(self) -> list[str]:
        """The ``wiseflow plugins grant`` command for what the manifest declares."""
        args = [f"--network {shlex.quote(h)}" for h in self.uses.network]
        args += [f"--env {shlex.quote(v)}" for v in self.uses.env]
        args += [f"--fs-read {shlex.quote(p)}" for p in self.uses.fs_read]
        return [f"wiseflow plugins grant {self.name} {' '.join(args)}"] if args else []

    def manifest_text(self) -> str:
        """The ``plugin.toml`` (every string through :func:`toml_value`)."""
        q = toml_value
        lines = [
            "# Written by `wiseflow plugins migrate` for a plugin of the original WiseFlow API.",
            "# Review it: permissions below are what static reading found; none is granted.",
            "[plugin]",
            f"name = {q(self.name)}",
            f"version = {q(self.version)}",
            f"kind = {q(self.kind)}",
            f"entry = {q(self.entry)}",
            f"api = {q(API)}",
            'adapter = "legacy"',
            f"description = {q(self.description)}",
        ]
        if self.requires:
            lines += ["", "[plugin.requires]"]
            lines += [f"{dep} = {q(spec)}" for dep, spec in sorted(self.requires.items())]
        declared = [("network", self.uses.network), ("env", self.uses.env),
                    ("fs_read", self.uses.fs_read)]  # fmt: skip
        if any(values for _, values in declared):
            lines += ["", "[plugin.permissions]"]
            lines += [f"{key} = {q(values)}" for key, values in declared if values]
        return "\n".join(lines) + "\n"


_TOML_ESCAPE = re.compile(r'[\x00-\x1f\x7f"\\]')
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _toml_str(text: str) -> str:
    def escape(m: re.Match[str]) -> str:
        c = m.group()
        return "\\" + c if c in '"\\' else f"\\u{ord(c):04x}"

    return '"' + _TOML_ESCAPE.sub(escape, _SURROGATE.sub("\ufffd", text)) + '"'


def toml_value(value: str | list[str]) -> str:
    """A TOML basic string (or array of them) for text read from legacy code: quotes,
    backslashes and control characters escaped, a lone surrogate (which no TOML string may
    hold, escaped or not) replaced by U+FFFD; any other character written as itself."""
    if isinstance(value, str):
        return _toml_str(value)
    return "[" + ", ".join(_toml_str(v) for v in value) + "]"


def normalise(name: str) -> str:
    """A manifest name (``[a-z][a-z0-9-]*``) for a legacy name: ``My_Conn`` → ``my-conn``."""
    text = _NAME_CHARS.sub("-", _CAMEL.sub("-", name).lower()).strip("-")
    text = text.lstrip("0123456789-")
    return text[:100].rstrip("-")


def plan_folder(folder: Path, modules: list[Module], unread: list[str], uses: Uses) -> Plan:
    """Decide name, kind, entry, version and dependencies for the plugin in ``folder``."""
    plan = Plan(folder=folder, uses=uses)
    for module in modules:
        if module.problem:
            plan.assumed.append(f"{module.file.name}: {module.problem[:300]} (not read)")
    for note in unread:
        plan.assumed.append(note)
    classes = [c for m in modules for c in m.classes]
    by_name = {c.name: c for c in classes}
    legacy = [c for c in classes if is_legacy(c, by_name)]
    bases = {b for c in legacy for b in c.local_bases}
    found = [c for c in legacy if c.name not in bases]
    if not found:
        return plan.problem(
            "WF103",
            f"no class of the original API (subclassing core.plugins) in {folder}",
            "give the folder that holds the legacy plugin's module (or a folder of them)",
        )
    if len(found) > 1:
        names = ", ".join(f"{c.module}:{c.name}" for c in found[:10])
        return plan.problem(
            "WF103",
            f"{folder} holds {len(found)} original-API plugin classes ({names})",
            "one plugin per folder: move each class (and its module) into a folder of its own",
        )
    cls = found[0]
    _entry(plan, cls)
    _kind(plan, cls, by_name)
    _identity(plan, cls)
    _requires(plan, cls)
    if any(use["rule"] in ("network", "raw-network") for use in uses.seen):
        plan.assumed.append(
            "network: the code connects by itself; a sandboxed worker has no network but "
            "the host's ctx.http, which original-API code does not use: port those calls to "
            "ctx.http, or run the plugin at level trusted"
        )
    return plan


def _entry(plan: Plan, cls: LegacyClass) -> None:
    module = cls.module.removesuffix(".__init__") if cls.module != "__init__" else "__init__"
    plan.entry = f"{module}:{cls.name}"
    where = cls.file.relative_to(plan.folder).as_posix()
    plan.assumed.append(f"entry: {plan.entry} (class {cls.name}, {where} line {cls.line})")
    head = module.split(".")[0]
    if "." in module and not (plan.folder / head / "__init__.py").is_file():
        plan.problem(
            "WF102",
            f"{where} is in a folder without __init__.py: {module} cannot be imported",
            f"add {head}/__init__.py, or give {cls.file.parent} as the plugin's folder",
        )


def _kind(plan: Plan, cls: LegacyClass, by_name: dict[str, LegacyClass]) -> None:
    kind = kind_of(cls, by_name)
    if kind is not None:
        plan.kind = kind
        plan.assumed.append(f"kind: {kind} (from its original base class)")
        return
    kinds = kind_from_methods(methods_of(cls, by_name))
    if len(kinds) == 1:
        plan.kind = kinds[0]
        plan.assumed.append(f"kind: {plan.kind} (it subclasses BasePlugin; from its methods)")
        return
    plan.problem(
        "WF103",
        f"cannot tell the kind of {cls.name}: it subclasses BasePlugin and defines "
        + (
            f"methods of several kinds ({', '.join(kinds)})"
            if kinds
            else "none of fetch_data(), process(), analyze()"
        ),
        "subclass ConnectorPlugin, ProcessorPlugin or AnalyzerPlugin from core.plugins",
    )


def _identity(plan: Plan, cls: LegacyClass) -> None:
    meta = cls.metadata
    raw = cls.attrs.get("name") or (meta.get("name") if isinstance(meta.get("name"), str) else "")
    name = normalise(raw) if raw else ""
    if name and raw == name:
        plan.assumed.append(f"name: {name!r} (class attribute `name`)")
    elif name:
        plan.assumed.append(f"name: {raw!r} is written {name!r} (manifest names: [a-z][a-z0-9-]*)")
    else:
        name = normalise(cls.name) or "legacy-plugin"
        plan.assumed.append(f"name: {name!r} (no usable `name`; from the class name)")
    plan.name = name
    version = cls.attrs.get("version") or meta.get("version")
    if isinstance(version, str) and _pep440(version):
        plan.version = version
    else:
        plan.assumed.append(f"version: 0.0.0 ({version!r} is not a PEP 440 version)"
                            if version else "version: 0.0.0 (none given)")  # fmt: skip
    text = cls.attrs.get("description") or meta.get("description") or ""
    plan.description = text[:500] if isinstance(text, str) else ""
    for key in ("min_system_version", "max_system_version"):
        if meta.get(key):
            plan.assumed.append(
                f"{key} = {str(meta[key])[:50]!r}: reported, not enforced "
                "(it refers to the original system)"
            )
    plan.assumed.append(
        "config: the stage's `config` table is the plugin's self.config"
        + ('; fetch_data(query) gets config.query (default "")' if plan.kind == "connector" else "")
    )


def _requires(plan: Plan, cls: LegacyClass) -> None:
    deps = cls.metadata.get("dependencies")
    if deps is None:
        if "dependencies" in cls.metadata:
            plan.assumed.append(
                "requires: PluginMetadata.dependencies is not a literal; none written"
            )
        return
    if not isinstance(deps, dict):
        plan.assumed.append("requires: PluginMetadata.dependencies is not a dict; none written")
        return
    for dep, spec in list(deps.items())[:100]:
        name = normalise(dep) if isinstance(dep, str) else ""
        if not name or name == plan.name:
            plan.assumed.append(f"requires: {str(dep)[:60]!r} skipped (not a plugin name)")
            continue
        spec_text = spec if isinstance(spec, str) and _specifier(spec) else ""
        if spec_text != spec:
            plan.assumed.append(f"requires: {name} at any version ({str(spec)[:60]!r} is not a "
                                "PEP 440 range)")  # fmt: skip
        plan.requires[name] = spec_text
        if name != dep:
            plan.assumed.append(f"requires: {dep!r} is written {name!r}")


def _pep440(text: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


def _specifier(text: str) -> bool:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        SpecifierSet(text)
    except InvalidSpecifier:
        return False
    return True


def as_doc(plan: Plan) -> dict[str, Any]:
    """The plan as one entry of ``plugins migrate --json``."""
    return {
        "name": plan.name,
        "kind": plan.kind,
        "entry": plan.entry,
        "folder": str(plan.folder),
        "version": plan.version,
        "requires": dict(plan.requires),
        "declared": {
            "network": plan.uses.network,
            "env": plan.uses.env,
            "fs_read": plan.uses.fs_read,
        },
        "assumed": list(plan.assumed),
        "uses": list(plan.uses.seen),
        "grants": plan.grants(),
        "problems": list(plan.problems),
    }
