"""Effective permissions: what a plugin declared AND the operator granted.

Declared entries may name a config field in braces (``fs_read = ["{root}"]``): the value the
operator wrote for that field is the grant. A default the plugin supplies itself grants
nothing. Level ``strict`` removes network, secrets and subprocesses whatever was granted.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, final
from urllib.parse import urlsplit

import msgspec

from .._contract._manifest import PLACEHOLDER_RE, Permissions

__all__ = ["Effective", "Grant", "effective_permissions", "host_port", "union"]


@final
class Grant(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The operator's grant for one plugin (``[plugins.NAME] grant.*`` in wiseflow.toml)."""

    network: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    fs_read: tuple[str, ...] = ()
    fs_write: tuple[str, ...] = ()
    subprocess: bool = False
    all: bool = False  # grant everything the manifest declares


def union(a: Grant, b: Grant) -> Grant:
    """Everything ``a`` or ``b`` grants."""
    return Grant(
        network=tuple(dict.fromkeys((*a.network, *b.network))),
        env=tuple(dict.fromkeys((*a.env, *b.env))),
        fs_read=tuple(dict.fromkeys((*a.fs_read, *b.fs_read))),
        fs_write=tuple(dict.fromkeys((*a.fs_write, *b.fs_write))),
        subprocess=a.subprocess or b.subprocess,
        all=a.all or b.all,
    )


@final
class Effective(msgspec.Struct, frozen=True, kw_only=True):
    """Permissions in force for one plugin instance (paths resolved, hosts normalised)."""

    network: tuple[str, ...] = ()  # "host:port"
    env: tuple[str, ...] = ()
    fs_read: tuple[str, ...] = ()  # absolute, symlinks resolved
    fs_write: tuple[str, ...] = ()
    subprocess: bool = False
    denied: tuple[str, ...] = ()  # declared but not granted, for the operator's eyes

    def to_dict(self) -> dict[str, Any]:
        return msgspec.to_builtins(self)  # type: ignore[no-any-return]


def host_port(entry: str) -> str:
    """Normalise ``host``, ``host:port`` or a URL to ``host:port`` (default port by scheme)."""
    if "://" in entry:
        parts = urlsplit(entry)
        host = (parts.hostname or "").lower()
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return f"{host}:{port}"
    host, sep, port_text = entry.rpartition(":")
    if not sep or "]" in port_text:
        return f"{entry.lower()}:*"
    return f"{host.lower()}:{port_text}"


def _expand(entries: tuple[str, ...], config: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(literal entries, values of placeholders that the operator set)."""
    literal: list[str] = []
    from_config: list[str] = []
    for entry in entries:
        m = PLACEHOLDER_RE.match(entry)
        if not m:
            literal.append(entry)
            continue
        value = config.get(m.group(1))
        if value is None:
            continue  # the plugin's own default grants nothing
        values = value if isinstance(value, list | tuple) else [value]
        from_config.extend(str(v) for v in values if v not in (None, ""))
    return literal, from_config


def anchor_paths(declared: Permissions, config: dict[str, Any], base: Path) -> dict[str, Any]:
    """``config`` with its relative paths made absolute against ``base``.

    A path in a config is relative to the file that names it (the pipeline file, or
    ``wiseflow.toml``), never to the current folder of whoever runs the command. The
    paths are the values of the fields that ``declared`` names in ``{field}`` placeholders
    of ``fs_read``/``fs_write``: those fields become grants, and the plugin reads the very
    same value, so both see one absolute path.

    Example:
        with ``fs_read = ["{root}"]``, ``{"root": "docs"}`` in ``/srv/p/pipe.toml`` becomes
        ``{"root": "/srv/p/docs"}``.
    """
    fields = {
        m.group(1)
        for entry in (*declared.fs_read, *declared.fs_write)
        if (m := PLACEHOLDER_RE.match(entry))
    }
    out = dict(config)
    for name in fields & out.keys():
        value = out[name]
        if isinstance(value, str):
            out[name] = _anchor(value, base)
        elif isinstance(value, list | tuple):
            out[name] = [_anchor(v, base) if isinstance(v, str) else v for v in value]
    return out


def _anchor(value: str, base: Path) -> str:
    if not value:
        return value  # "" grants nothing and means what the plugin says it means
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else base / path)


def _real(path: str) -> str:
    return os.path.realpath(os.path.expanduser(path))


def effective_permissions(
    declared: Permissions,
    grant: Grant,
    config: dict[str, Any],
    *,
    level: str = "sandboxed",
) -> Effective:
    """Intersect what ``declared`` asks with ``grant`` and the operator's ``config`` values."""
    denied: list[str] = []

    def pick(kind: str, entries: tuple[str, ...], granted: tuple[str, ...]) -> list[str]:
        literal, from_config = _expand(entries, config)
        out = list(from_config)
        for entry in literal:
            if grant.all or entry in granted:
                out.append(entry)
            else:
                denied.append(f"{kind}:{entry}")
        return out

    network = [host_port(e) for e in pick("network", declared.network, grant.network)]
    env = pick("env", declared.env, grant.env)
    fs_read = [_real(p) for p in pick("fs_read", declared.fs_read, grant.fs_read)]
    fs_write = [_real(p) for p in pick("fs_write", declared.fs_write, grant.fs_write)]
    subprocess = declared.subprocess and (grant.all or grant.subprocess)
    if declared.subprocess and not subprocess:
        denied.append("subprocess")
    if level == "strict":
        denied.extend(f"network:{n} (strict)" for n in network)
        denied.extend(f"env:{e} (strict)" for e in env)
        if subprocess:
            denied.append("subprocess (strict)")
        network, env, subprocess = [], [], False
    return Effective(
        network=tuple(dict.fromkeys(network)),
        env=tuple(dict.fromkeys(env)),
        fs_read=tuple(dict.fromkeys(fs_read)),
        fs_write=tuple(dict.fromkeys(fs_write)),
        subprocess=subprocess,
        denied=tuple(denied),
    )
