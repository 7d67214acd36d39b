"""What the testing kit and the conformance suite share: a plugin from what the author
hands in, a manager over exactly it, fake HTTP behind the real broker, one run driven.

Nothing here imports plugin code in the host: a folder (or an installed plugin) is
imported by its entry, in a worker unless the level is ``trusted``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, final

import msgspec

from .._contract._errors import ConfigError, EntryNotFound, ManifestError, SkipRecord, WiseflowError
from .._contract._manifest import Manifest, Permissions, load_manifest
from .._contract._plugin import BasePlugin
from .._contract._record import Checkpoint, Record
from .._discovery import Candidate
from .._policy._grants import Grant
from .._policy._lock import Lock
from .._policy._operator import OperatorConfig, PluginPolicy, Policy
from ._assembly import Located, PluginSpec, direct_candidate
from ._locate import class_root, import_root, importable_in_worker, manifest_path

if TYPE_CHECKING:
    import httpx

    from ._handle import PluginHandle
    from ._manager import PluginManager

__all__ = [
    "FakeHttp",
    "HttpAnswer",
    "LogTap",
    "PluginTarget",
    "drive",
    "kit_manager",
    "plugin_spec",
]

#: What a fake URL answers: a body, ``(status, body)`` or ``(status, headers, body)``.
HttpAnswer = str | bytes | tuple[int, str | bytes] | tuple[int, Mapping[str, str], str | bytes]
PluginTarget = type[BasePlugin] | tuple[Manifest, type[BasePlugin]] | str | Path
LEVELS = ("trusted", "sandboxed", "strict")


def _from_folder(path: Path) -> Located:
    """A plugin folder (or a project folder) as a located candidate: imported by entry."""
    mp = manifest_path(path)
    if not mp.is_file():
        raise ManifestError(
            f"no plugin.toml in {path}",
            code="WF101",
            plugin=str(path),
            hint="give the folder holding plugin.toml, or a project folder whose package "
            "(src/PKG/ or PKG/) holds it",
        )
    manifest = load_manifest(mp)
    folder = mp.parent.resolve()
    cand = Candidate(
        manifest=manifest,
        origin="dir",
        location=str(folder),
        code_root=str(import_root(folder, manifest.entry).resolve()),
    )
    return Located(cand)


def _from_class(spec: PluginSpec, level: str, grants: Mapping[str, Any] | None) -> Located:
    """A class (or ``(Manifest, class)``) located so that a worker can import it too."""
    cand, cls = direct_candidate(spec)
    assert cls is not None
    manifest = cand.manifest
    if (
        not isinstance(spec, tuple)
        and grants
        and manifest.permissions.is_empty()
        and getattr(cls, "manifest_permissions", None) is None
    ):
        # a bare class declares nothing: what the test grants is what it asks for
        perms = msgspec.convert(_grant_fields(grants), type=Permissions)
        manifest = msgspec.structs.replace(manifest, permissions=perms)
    root = None
    if level != "trusted":
        root = class_root(cls)
        if root is None:
            raise EntryNotFound(
                f"plugin class {cls.__qualname__} (module {cls.__module__}) cannot be "
                f"imported by a worker, so it cannot run at level {level}",
                plugin=manifest.name,
                hint="define the class at the top level of a .py module (not inside a "
                "function or __main__), or run it with level='trusted'",
            )
        manifest = msgspec.structs.replace(manifest, entry=f"{cls.__module__}:{cls.__qualname__}")
        if importable_in_worker(root):  # installed: the worker imports it by its name
            return Located(msgspec.structs.replace(cand, manifest=manifest))
    located = Candidate(
        manifest=manifest,
        origin="direct",
        location="<direct>",
        code_root=str(root) if root is not None else None,
    )
    return Located(located, cls)


def plugin_spec(
    plugin: PluginTarget, *, level: str = "trusted", grants: Mapping[str, Any] | None = None
) -> Located:
    """What :func:`wiseflow.testing.run_plugin` accepts, as something a manager takes."""
    if level not in LEVELS:
        raise ConfigError(
            f"unknown level {level!r}",
            hint=f"use one of {', '.join(LEVELS)}",
        )
    if isinstance(plugin, str | Path):
        return _from_folder(Path(plugin))
    return _from_class(plugin, level, grants)


def _grant_fields(grants: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in grants.items():
        out[key] = value if isinstance(value, bool) else tuple(value)
    return out


def operator_config(name: str, level: str, grants: Mapping[str, Any] | None) -> OperatorConfig:
    """An operator who runs ``name`` at ``level`` with ``grants`` (None: what it declares)."""
    if grants is None:
        grant = Grant(all=True)
    else:
        try:
            grant = msgspec.convert(_grant_fields(grants), type=Grant)
        except msgspec.ValidationError as exc:
            raise WiseflowError(
                f"grants: {exc}",
                code="WF105",
                plugin=name,
                hint="keys: network, env, fs_read, fs_write (lists), subprocess (bool)",
            ) from None
    return OperatorConfig(
        policy=Policy(level=level),  # type: ignore[arg-type]
        plugins={name: PluginPolicy(grant=grant)},
    )


# -- fake HTTP -----------------------------------------------------------------------------


def _norm(url: str) -> str:
    import httpx

    return str(httpx.URL(url))


@final
class FakeHttp:
    """An ``httpx`` transport answering from a table (or a function), for the broker.

    The broker checks every request first (granted host:port, redirects, size and time
    caps), then sends it here instead of the network. A URL with no answer fails the way
    an unreachable host does (the plugin sees a ``TransientError``), naming the URLs known.
    """

    def __init__(
        self, http: Mapping[str, HttpAnswer] | Callable[[httpx.Request], HttpAnswer | None]
    ) -> None:
        self.requests: list[tuple[str, str]] = []
        if callable(http):
            self._answer: Callable[[httpx.Request], Any] = http
            self._known: list[str] = []
        else:
            table = {_norm(k): v for k, v in http.items()}
            self._answer = lambda request: table.get(str(request.url))
            self._known = sorted(table)

    def transport(self) -> httpx.MockTransport:
        import httpx

        return httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        import httpx

        self.requests.append((request.method, str(request.url)))
        answer = self._answer(request)
        if answer is None:
            known = ", ".join(self._known[:5]) or "none"
            raise httpx.ConnectError(
                f"wiseflow.testing has no fake response for {request.method} {request.url} "
                f"(faked: {known})",
                request=request,
            )
        status, headers, body = 200, {}, answer
        if isinstance(answer, tuple):
            if len(answer) == 2:
                status, body = answer
            else:
                status, headers, body = answer
        if isinstance(body, dict | list):
            body = json.dumps(body)
            headers = {"content-type": "application/json", **dict(headers)}
        content = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        return httpx.Response(int(status), headers=dict(headers), content=content)


# -- running -------------------------------------------------------------------------------


def kit_manager(
    spec: Located,
    *,
    level: str,
    grants: Mapping[str, Any] | None,
    data_dir: str | Path,
    http: FakeHttp | None = None,
    others: Sequence[Located] = (),
) -> PluginManager:
    """A manager over exactly ``spec`` (and ``others``: its dependencies), at ``level``,
    ``spec`` granted ``grants``; no scan."""
    from ._manager import PluginManager

    name = spec.candidate.manifest.name
    return PluginManager(
        operator_config(name, level, grants),
        plugins=[spec, *others],
        entry_points=False,
        data_dir=data_dir,
        level=level,
        cache=False,
        lock=Lock(),  # the test's grants decide, never a wiseflow.lock in the current folder
        http_transport=http.transport() if http is not None else None,
    )


@final
class LogTap(logging.Handler):
    """Collects a plugin's log lines (``LEVEL message``) and the broker's denials."""

    def __init__(self, instance: str) -> None:
        super().__init__(logging.DEBUG)
        self.instance = instance
        self.lines: list[str] = []
        self.denied: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.name == "wiseflow.grants":
            if message.startswith(f"deny {self.instance} "):
                self.denied.append(message.removeprefix(f"deny {self.instance} "))
            return
        self.lines.append(f"{record.levelname} {message}")

    @contextmanager
    def attached(self) -> Iterator[LogTap]:
        """Tap while inside: every plugin line (kept from the terminal), denials as logged."""
        plugin = logging.getLogger(f"wiseflow.plugin.{self.instance}")
        grants = logging.getLogger("wiseflow.grants")  # denials are warnings: level as is
        saved = plugin.level, plugin.propagate
        plugin.setLevel(logging.DEBUG)
        plugin.propagate = False
        plugin.addHandler(self)
        grants.addHandler(self)
        try:
            yield self
        finally:
            plugin.removeHandler(self)
            grants.removeHandler(self)
            plugin.setLevel(saved[0])
            plugin.propagate = saved[1]


@final
class Outcome:
    """What one drive of a plugin produced."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.checkpoints: list[Checkpoint] = []
        self.skipped: list[SkipRecord] = []
        self.result: dict[str, Any] | None = None


def drive(
    handle: PluginHandle,
    *,
    records: Sequence[Record] = (),
    state: dict[str, Any] | None = None,
    batch_size: int = 100,
) -> Outcome:
    """Exercise ``handle``'s kind once: fetch to the end, or process / analyze ``records``."""
    out = Outcome()
    if handle.kind == "connector":
        for item in handle.fetch(state):
            if isinstance(item, Checkpoint):
                out.checkpoints.append(item)
            elif isinstance(item, SkipRecord):
                out.skipped.append(item)  # an item the connector refused (a dead letter)
            else:
                out.records.append(item)
        return out
    batch = list(records)
    for i in range(0, len(batch), batch_size):
        chunk = batch[i : i + batch_size]
        if handle.kind == "processor":
            out.records.extend(handle.process(chunk))
        else:
            handle.analyze(chunk)
    if handle.kind == "analyzer":
        out.result = handle.result()
    return out
