"""``wiseflow.lock``: the plugins the operator approved, pinned to their files (SPEC §10).

One table per approved plugin, sorted, written atomically beside ``wiseflow.toml``::

    [plugins.github]
    version = "0.1.0"
    origin = "entry-point:wiseflow"
    level = "sandboxed"
    manifest = "9f86d0…"                  # SHA-256 of plugin.toml
    network = ["api.github.com:443"]      # what was granted, spelled out
    env = ["GITHUB_TOKEN"]
    fs_read = []
    fs_write = []
    subprocess = false

    [plugins.github.python]              # an installed plugin's own environment (§14)
    key = "5d41402a…"
    pinned = ["requests==2.32.3", …]
    [plugins.github.python.hashes]
    requests = "sha256:…"

    [plugins.github.files]               # every file of the plugin's folder
    "__init__.py" = "2c26b4…"
    "plugin.toml" = "9f86d0…"

``wiseflow plugins grant`` writes an entry; ``revoke`` removes it. Before any code of a
locked plugin is imported its folder is compared with ``files``; see :func:`verify`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, final

import msgspec

from .._contract._errors import ConfigError, IntegrityError
from .._contract._manifest import PLACEHOLDER_RE, Manifest, Permissions
from .._contract._toml import TomlProblem, loads, read_limited
from .._envs._model import PythonEnv
from ._grants import Grant

__all__ = [
    "LOCK_NAME",
    "Lock",
    "LockEntry",
    "asked_beyond",
    "load_lock",
    "save_lock",
]

LOCK_NAME = "wiseflow.lock"


@final
class LockEntry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One approved plugin: its identity, its files and the permissions it was granted."""

    version: str
    origin: str
    level: str
    manifest: str
    network: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    fs_read: tuple[str, ...] = ()
    fs_write: tuple[str, ...] = ()
    subprocess: bool = False
    approved: str = ""  # when (ISO 8601, UTC): files changed after it are always re-read
    requires: dict[str, str] = msgspec.field(default_factory=dict)  # dependency -> origin
    files: dict[str, str] = msgspec.field(default_factory=dict)
    python: PythonEnv | None = None  # its environment (installed plugins; see wiseflow._envs)

    def approved_at(self) -> float | None:
        """:attr:`approved` as a POSIX time (None: unknown, so nothing cached is trusted)."""
        from datetime import datetime

        try:
            return datetime.fromisoformat(self.approved).timestamp() if self.approved else None
        except ValueError:
            return None

    def grant(self) -> Grant:
        """The approved permissions as a :class:`Grant` (never ``all``)."""
        return Grant(
            network=self.network,
            env=self.env,
            fs_read=self.fs_read,
            fs_write=self.fs_write,
            subprocess=self.subprocess,
        )

    def permissions(self) -> list[str]:
        """``["network:api.github.com:443", "env:GITHUB_TOKEN", ...]``."""
        out = [f"network:{v}" for v in self.network] + [f"env:{v}" for v in self.env]
        out += [f"fs_read:{v}" for v in self.fs_read] + [f"fs_write:{v}" for v in self.fs_write]
        return [*out, "subprocess"] if self.subprocess else out


@final
class Lock(msgspec.Struct, kw_only=True):
    """The whole lock file; ``path`` is where it is read from and written to."""

    plugins: dict[str, LockEntry] = msgspec.field(default_factory=dict)
    path: str | None = None

    def get(self, name: str) -> LockEntry | None:
        return self.plugins.get(name)

    def required_origin(self, name: str) -> str | None:
        """The origin approved plugins' dependency ``name`` had when they were approved."""
        for dependent in sorted(self.plugins):
            origin = self.plugins[dependent].requires.get(name)
            if origin is not None:
                return origin
        return None


def load_lock(path: str | Path) -> Lock:
    """Read ``path``; an absent file is an empty lock.

    Raises:
        ConfigError: WF105 when the file is not a valid lock (never silently ignored: an
            unreadable lock must not turn every approval off, nor on).
    """
    p = Path(path)
    try:
        data = loads(read_limited(p, 16 << 20).decode("utf-8"))
    except FileNotFoundError:
        return Lock(path=str(p))
    except (TomlProblem, OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{p}: cannot be read: {getattr(exc, 'message', exc)}",
            plugin=str(p),
            hint="restore wiseflow.lock from version control, or delete it and approve "
            "the plugins again with `wiseflow plugins grant`",
        ) from None
    try:
        lock = msgspec.convert(data, type=Lock)
    except msgspec.ValidationError as exc:
        raise ConfigError(
            f"{p}: {str(exc).replace('$.', '')}",
            plugin=str(p),
            hint="wiseflow.lock is written by `wiseflow plugins grant`; restore it or "
            "approve the plugins again",
        ) from None
    lock.path = str(p)
    return lock


def _q(text: str) -> str:
    """A TOML basic string (JSON's escapes are a subset TOML accepts).

    JSON leaves DEL (U+007F) raw, which TOML forbids in a basic string: a plugin file named
    with one would make the whole lock unreadable (WF105 for every command), so escape it.
    """
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _dump(lock: Lock) -> str:
    lines = [
        "# wiseflow.lock: plugins approved with `wiseflow plugins grant`, pinned to their files.",
        "# Review changes to this file like code. Do not edit by hand.",
        "",
    ]
    for name in sorted(lock.plugins):
        e = lock.plugins[name]
        lines.append(f"[plugins.{_q(name)}]")
        for key in ("version", "origin", "level", "manifest"):
            lines.append(f"{key} = {_q(getattr(e, key))}")
        for key in ("network", "env", "fs_read", "fs_write"):
            values = ", ".join(_q(v) for v in sorted(getattr(e, key)))
            lines.append(f"{key} = [{values}]")
        lines.append(f"subprocess = {'true' if e.subprocess else 'false'}")
        if e.approved:
            lines.append(f"approved = {_q(e.approved)}")
        lines.append("")
        if e.requires:
            lines.append(f"[plugins.{_q(name)}.requires]")
            lines.extend(f"{_q(dep)} = {_q(e.requires[dep])}" for dep in sorted(e.requires))
            lines.append("")
        if e.python is not None:
            lines.extend(_dump_python(name, e.python))
        lines.append(f"[plugins.{_q(name)}.files]")
        lines.extend(f"{_q(rel)} = {_q(e.files[rel])}" for rel in sorted(e.files))
        lines.append("")
    return "\n".join(lines)


def _dump_python(name: str, env: PythonEnv) -> list[str]:
    pinned = ", ".join(_q(p) for p in env.pinned)
    lines = [f"[plugins.{_q(name)}.python]", f"key = {_q(env.key)}", f"pinned = [{pinned}]", ""]
    lines.append(f"[plugins.{_q(name)}.python.hashes]")
    lines.extend(f"{_q(n)} = {_q(env.hashes[n])}" for n in sorted(env.hashes))
    return [*lines, ""]


def save_lock(lock: Lock, path: str | Path | None = None) -> Path:
    """Write ``lock`` atomically (a reader sees the old file or the new one, never half)."""
    p = Path(path or lock.path or LOCK_NAME)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    text = _dump(lock).encode("utf-8")  # before the temp file exists: nothing half-written
    try:
        with open(tmp, "wb") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return p


def _declared(perms: Permissions) -> dict[str, tuple[str, ...]]:
    return {
        "network": perms.network,
        "env": perms.env,
        "fs_read": perms.fs_read,
        "fs_write": perms.fs_write,
    }


def approved_entries(manifest: Manifest, grant: Grant) -> dict[str, Any]:
    """What a grant gives ``manifest``, spelled out (``all`` expanded to the declared list).

    Placeholders (``{root}``) are kept as they are: the pipeline's value is their grant.
    """
    out: dict[str, Any] = {}
    for kind, declared in _declared(manifest.permissions).items():
        given: tuple[str, ...] = getattr(grant, kind)
        keep = [e for e in declared if grant.all or e in given or PLACEHOLDER_RE.match(e)]
        keep += [e for e in given if e not in keep]
        out[kind] = tuple(dict.fromkeys(keep))
    out["subprocess"] = bool(grant.subprocess or (grant.all and manifest.permissions.subprocess))
    return out


def asked_beyond(manifest: Manifest, entry: LockEntry, extra: Grant) -> list[str]:
    """Declared permissions that neither the lock entry nor ``extra`` (wiseflow.toml) grant."""
    out = []
    for kind, declared in _declared(manifest.permissions).items():
        allowed = set(getattr(entry, kind)) | set(getattr(extra, kind))
        out += [f"{kind}:{e}" for e in declared if e not in allowed]
    if manifest.permissions.subprocess and not (entry.subprocess or extra.subprocess):
        out.append("subprocess")
    return out


def check_entry(
    name: str,
    entry: LockEntry,
    manifest: Manifest,
    files: Mapping[str, str],
    extra: Grant,
) -> None:
    """WF303 unless ``files`` are the approved ones and the manifest asks nothing new."""
    from .._contract._integrity import diff_files

    changes = diff_files(entry.files, files)
    # Only a changed manifest can ask for something new. What the approved manifest declared
    # and the operator chose not to grant is simply denied at use (WF301), as for any plugin:
    # a partial `plugins grant NAME --network H` must not leave the plugin unrunnable.
    changed_manifest = files.get("plugin.toml") != entry.manifest
    beyond = asked_beyond(manifest, entry, extra) if changed_manifest else []
    if not changes and not beyond:
        return
    what = []
    if changes:
        what.append(changes.describe())
    if beyond:
        what.append("its manifest now asks for " + ", ".join(beyond) + ", which was not granted")
    raise IntegrityError(
        f"plugin '{name}' is not what was approved: {'; '.join(what)}",
        plugin=name,
        hint=f"review the change, then approve it again: wiseflow plugins grant {name}",
    )
