"""``plugin.toml``: read and validated without importing any plugin code.

Every invalid field is reported at once, each with its path (``plugin.version``) and line.
"""

# No `from __future__ import annotations` here: public Structs are re-homed to `wiseflow`,
# and msgspec resolves string annotations through the class's module.

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, final

import msgspec

from ._ceilings import range_problem
from ._errors import ManifestError, Problem
from ._manifest_hints import hint_for
from ._toml import TomlProblem, loads, read_limited

if TYPE_CHECKING:  # packaging loads only when versions are parsed (not in sandbox workers)
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

__all__ = [
    "MANIFEST_NAME",
    "Manifest",
    "Permissions",
    "Requirement",
    "Resources",
    "load_manifest",
    "parse_manifest",
]

MANIFEST_NAME = "plugin.toml"
#: A plugin name: also a folder name (its data dir, its sandbox's temporary folder, ``dep@user``
#: instances), so at most 64 characters, well below the file system's 255.
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,63}\Z")
ENTRY_RE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*\Z")
KINDS = ("connector", "processor", "analyzer")
#: Values of ``[plugin] adapter``: how an entry that is not a wiseflow plugin class is hosted.
ADAPTERS = ("legacy",)
PLACEHOLDER_RE = re.compile(r"^\{([A-Za-z_]\w*)\}\Z")


@final
class Requirement(msgspec.Struct, frozen=True, kw_only=True):
    """One ``[plugin.requires]`` entry."""

    name: str
    version: str = ""  # PEP 440 specifier set; "" means any
    optional: bool = False

    @property
    def specifier(self) -> "SpecifierSet":
        from packaging.specifiers import SpecifierSet

        return SpecifierSet(self.version)


@final
class Permissions(msgspec.Struct, frozen=True, kw_only=True):
    """What a plugin asks for; the operator's grant decides what it gets."""

    network: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    fs_read: tuple[str, ...] = ()
    fs_write: tuple[str, ...] = ()
    subprocess: bool = False

    def is_empty(self) -> bool:
        return not (self.network or self.env or self.fs_read or self.fs_write or self.subprocess)


@final
class Resources(msgspec.Struct, frozen=True, kw_only=True):
    """Resource defaults; the operator may tighten them."""

    memory_mb: int = 512
    cpu_seconds: float = 300.0
    timeout_s: float = 60.0
    max_open_files: int = 256
    ray_num_cpus: float = 0.0  # CPUs the Ray actor asks for (SPEC §15); local runs ignore it


@final
class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    """A validated ``plugin.toml``."""

    name: str
    version: str
    kind: str
    entry: str
    api: str = ">=1,<2"
    python: str | None = None
    description: str = ""
    fallback: str | None = None
    adapter: str | None = None  # "legacy": the entry is an original-API class (SPEC §16)
    requires: tuple[Requirement, ...] = ()
    permissions: Permissions = Permissions()
    resources: Resources = Resources()
    path: str | None = None  # the manifest file, when read from disk

    @property
    def parsed_version(self) -> "Version":
        from packaging.version import Version

        return Version(self.version)

    @property
    def root(self) -> Path | None:
        """The folder holding ``plugin.toml`` (the plugin's code root), if read from disk."""
        return Path(self.path).parent if self.path else None

    def to_dict(self) -> dict[str, Any]:
        return msgspec.to_builtins(self)  # type: ignore[no-any-return]


def load_manifest(path: str | Path) -> Manifest:
    """Read and validate ``path`` (a ``plugin.toml`` or the folder holding one).

    Raises:
        ManifestError: WF101, with every problem found in ``.problems``.
    """
    p = Path(path)
    if p.is_dir():
        p = p / MANIFEST_NAME
    try:
        text = read_limited(p).decode("utf-8")
    except FileNotFoundError:
        raise ManifestError(
            f"no {MANIFEST_NAME} at {p}",
            plugin=str(p),
            hint=f"a plugin folder must hold a {MANIFEST_NAME}; `wiseflow plugins new` makes one",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"cannot read {p}: {exc}", plugin=str(p)) from None
    return parse_manifest(text, path=str(p))


def parse_manifest(text: str, *, path: str | None = None) -> Manifest:
    """Validate manifest TOML ``text``; ``path`` is used in messages and kept on the result."""
    where = path or MANIFEST_NAME
    try:
        doc = loads(text)
    except TomlProblem as exc:
        raise ManifestError(
            f"{where}: {exc.message}",
            plugin=where,
            hint="fix the TOML syntax at the line named",
            problems=[
                Problem(
                    code="WF101",
                    message=exc.message,
                    hint="fix the TOML syntax at the line named (strings in double quotes, "
                    "one key = value per line)",
                    file=where,
                    line=exc.line,
                )
            ],
        ) from None
    v = _Validator(text, where)
    manifest = v.run(doc)
    if v.problems or manifest is None:
        name = doc.get("plugin", {}).get("name") if isinstance(doc.get("plugin"), dict) else None
        label = name if isinstance(name, str) and name else where
        summary = "; ".join(p.message for p in v.problems)
        raise ManifestError(
            f"{where}: {len(v.problems)} invalid field(s): {summary}",
            plugin=label,
            problems=v.problems,
        )
    return msgspec.structs.replace(manifest, path=path)


class _Validator:
    """Collects every problem instead of stopping at the first."""

    def __init__(self, text: str, where: str) -> None:
        self.lines = text.splitlines()
        self.where = where
        self.problems: list[Problem] = []

    def bad(self, field: str, message: str, hint: str | None = None) -> None:
        key = field.rsplit(".", 1)[-1]
        self.problems.append(
            Problem(
                code="WF101",
                message=f"{field}: {message}",
                hint=hint or hint_for(field),
                file=self.where,
                line=self._line_of(key),
            )
        )

    def _line_of(self, key: str) -> int | None:
        pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=|^\s*\[.*\b{re.escape(key)}\]")
        for i, line in enumerate(self.lines, 1):
            if pattern.search(line):
                return i
        return None

    def run(self, doc: dict[str, Any]) -> "Manifest | None":
        from packaging.version import InvalidVersion, Version

        plugin = doc.get("plugin")
        if not isinstance(plugin, dict):
            self.bad("plugin", "missing [plugin] table", "start plugin.toml with [plugin]")
            return None
        for key in doc:
            if key != "plugin":
                self.bad(key, "unknown top-level table; everything lives under [plugin]")
        known = {
            "name", "version", "kind", "entry", "api", "python", "description", "fallback",
            "requires", "permissions", "resources", "adapter",
        }  # fmt: skip
        for key in plugin:
            if key not in known:
                self.bad(
                    f"plugin.{key}", "unknown field", f"known fields: {', '.join(sorted(known))}"
                )

        name = self._str(plugin, "name", required=True)
        if name is not None and not NAME_RE.match(name):
            self.bad(
                "plugin.name",
                f"{name[:80]!r} must match [a-z][a-z0-9-]* (at most 64 characters)",
            )
        version = self._str(plugin, "version", required=True)
        if version is not None:
            try:
                Version(version)
            except InvalidVersion:
                self.bad("plugin.version", f"{version!r} is not a PEP 440 version", "e.g. 1.2.0")
        kind = self._str(plugin, "kind", required=True)
        if kind is not None and kind not in KINDS:
            self.bad("plugin.kind", f"{kind!r} is not one of {', '.join(KINDS)}")
        entry = self._str(plugin, "entry", required=True)
        if entry is not None and not ENTRY_RE.match(entry):
            self.bad("plugin.entry", f"{entry!r} must look like 'package.module:Class'")
        api = self._spec(plugin, "api", default=">=1,<2")
        python = self._spec(plugin, "python", default=None)
        description = self._str(plugin, "description") or ""
        fallback = self._str(plugin, "fallback")
        if fallback is not None and not NAME_RE.match(fallback):
            self.bad("plugin.fallback", f"{fallback!r} is not a plugin name")
        if fallback is not None and fallback == name:
            self.bad("plugin.fallback", "a plugin cannot be its own fallback")
        adapter = self._str(plugin, "adapter")
        if adapter is not None and adapter not in ADAPTERS:
            self.bad("plugin.adapter", f"{adapter!r} is not one of {', '.join(ADAPTERS)}")
        requires = self._requires(plugin.get("requires", {}), name)
        permissions = self._permissions(plugin.get("permissions", {}))
        resources = self._resources(plugin.get("resources", {}))
        if self.problems:
            return None
        assert name is not None  # all four are guaranteed when no problems were found
        assert version is not None
        assert kind is not None
        assert entry is not None
        return Manifest(
            name=name,
            version=version,
            kind=kind,
            entry=entry,
            api=api or ">=1,<2",
            python=python,
            description=description,
            fallback=fallback,
            adapter=adapter,
            requires=requires,
            permissions=permissions,
            resources=resources,
        )

    def _str(self, table: dict[str, Any], key: str, *, required: bool = False) -> str | None:
        value = table.get(key)
        if value is None:
            if required:
                self.bad(f"plugin.{key}", "required field is missing")
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            self.bad(f"plugin.{key}", f"must be a non-empty string, got {value!r}")
            return None
        return value

    def _spec(self, table: dict[str, Any], key: str, *, default: str | None) -> str | None:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        value = self._str(table, key)
        if value is None:
            return default
        try:
            SpecifierSet(value)
        except InvalidSpecifier:
            self.bad(f"plugin.{key}", f"{value!r} is not a PEP 440 version range", "e.g. '>=1,<2'")
            return None
        return value

    def _requires(self, table: Any, own: str | None) -> tuple[Requirement, ...]:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        if not isinstance(table, dict):
            self.bad("plugin.requires", "must be a table of name = range")
            return ()
        out = []
        for dep, spec in table.items():
            path = f"plugin.requires.{dep}"
            if not NAME_RE.match(dep):
                self.bad(path, f"{dep!r} is not a plugin name")
                continue
            if dep == own:
                self.bad(path, "a plugin cannot require itself")
                continue
            optional = False
            if isinstance(spec, dict):
                unknown = set(spec) - {"version", "optional"}
                if unknown:
                    self.bad(path, f"unknown key(s) {sorted(unknown)}; use version and optional")
                optional_raw = spec.get("optional", False)
                if not isinstance(optional_raw, bool):
                    self.bad(f"{path}.optional", "must be true or false")
                optional = bool(optional_raw)
                rng = spec.get("version", "")
            else:
                rng = spec
            if not isinstance(rng, str):
                self.bad(path, f"range must be a string, got {rng!r}")
                continue
            try:
                SpecifierSet(rng)
            except InvalidSpecifier:
                self.bad(path, f"{rng!r} is not a PEP 440 version range")
                continue
            out.append(Requirement(name=dep, version=rng, optional=optional))
        return tuple(out)

    def _permissions(self, table: Any) -> Permissions:
        if not isinstance(table, dict):
            self.bad("plugin.permissions", "must be a table")
            return Permissions()
        lists: dict[str, tuple[str, ...]] = {}
        for key in ("network", "env", "fs_read", "fs_write"):
            value = table.get(key, [])
            if not isinstance(value, list) or not all(isinstance(x, str) and x for x in value):
                self.bad(f"plugin.permissions.{key}", "must be a list of non-empty strings")
                value = []
            lists[key] = tuple(value)
        for entry in lists["network"]:
            if not PLACEHOLDER_RE.match(entry) and not _valid_host_port(entry):
                self.bad(
                    "plugin.permissions.network",
                    f"{entry!r} must be 'host:port', 'host' or a '{{field}}' placeholder",
                )
        subprocess = table.get("subprocess", False)
        if not isinstance(subprocess, bool):
            self.bad("plugin.permissions.subprocess", "must be true or false")
            subprocess = False
        for key in table:
            if key not in ("network", "env", "fs_read", "fs_write", "subprocess"):
                self.bad(f"plugin.permissions.{key}", "unknown permission")
        return Permissions(subprocess=subprocess, **lists)

    def _resources(self, table: Any) -> Resources:
        if not isinstance(table, dict):
            self.bad("plugin.resources", "must be a table")
            return Resources()
        values: dict[str, Any] = {}
        ints = ("memory_mb", "max_open_files")
        floats = ("cpu_seconds", "timeout_s", "ray_num_cpus")
        for key, value in table.items():
            path = f"plugin.resources.{key}"
            if key not in ints and key not in floats:
                self.bad(path, f"unknown resource; known: {', '.join(ints + floats)}")
                continue
            problem = range_problem(key, value)  # bounds: wiseflow._contract._ceilings.BOUNDS
            if problem is not None:
                self.bad(path, problem, "e.g. memory_mb = 256, cpu_seconds = 120, timeout_s = 60")
                continue
            values[key] = float(value) if key in floats else value
        return Resources(**values)


def _valid_host_port(entry: str) -> bool:
    host, sep, port = entry.rpartition(":")
    if not sep:
        host, port = entry, ""
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host or any(c.isspace() or c in "/@?#" for c in host):
        return False
    return port in {"", "*"} or (port.isdigit() and 0 < int(port) < 65536)
