"""Run stages in this process, straight on plugin objects: :class:`LocalStage`.

This is the ``trusted`` path without the plugin manager: no sandbox, no retries, no
breakers. Tests, benchmarks and the crash-test driver use it; ``wiseflow run`` uses the
manager's handles, which satisfy the same :class:`~wiseflow._pipeline.StageHandle`.
Grants still apply: :class:`LocalBackend` serves only the roots, hosts and secrets it
was given, resolved from the manifest's ``{field}`` placeholders by :func:`grants_for`.
"""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any, final

from .._broker import Broker
from .._config import build_config
from .._context import PluginContext
from .._errors import EntryNotFound
from .._grants import Effective, Grant, effective_permissions, host_port
from .._manifest import Manifest, load_manifest
from .._plugin import BasePlugin, Figure
from .._record import Checkpoint, Record, check_returned, screen

__all__ = ["LocalBackend", "LocalStage", "grants_for", "local_stage", "local_stages"]


def LocalBackend(
    plugin: str,
    *,
    read_roots: Iterable[str | Path] = (),
    hosts: Iterable[str] = (),
    secrets: Mapping[str, str | None] | None = None,
) -> Broker:
    """The host's :class:`~wiseflow._broker.Broker` with a fixed grant (same checks)."""
    values = dict(secrets or {})
    perms = Effective(
        fs_read=tuple(os.path.realpath(r) for r in read_roots),
        network=tuple(host_port(h) if ":" in h or "//" in h else f"{h.lower()}:*" for h in hosts),
        env=tuple(values),
    )
    environ = {k: v for k, v in values.items() if v is not None}
    return Broker(plugin, perms, data_dir=None, environ=environ)


def grants_for(manifest: Manifest, config: Mapping[str, Any]) -> dict[str, list[str]]:
    """What a manifest's permissions amount to for ``config`` (placeholders resolved).

    Everything declared is granted; ``{field}`` stands for the value(s) the operator wrote
    for ``field``, and a field left to its default grants nothing (see ``_grants``).
    """
    eff = effective_permissions(manifest.permissions, Grant(all=True), dict(config))
    return {"fs_read": list(eff.fs_read), "network": list(eff.network), "env": list(eff.env)}


@final
class LocalStage:
    """A :class:`StageHandle` over a plugin object in this process.

    Validates the config against the plugin's ``Config`` (WF105), builds its
    :class:`PluginContext`, and runs ``async`` methods on a private event loop.
    """

    def __init__(
        self,
        plugin_obj: BasePlugin,
        *,
        name: str,
        plugin: str,
        config: Mapping[str, Any],
        data_dir: str | Path,
        backend: Any,
    ) -> None:
        self.name = name
        self.plugin = plugin
        self.state = "LOADED"
        self._obj = plugin_obj
        self._loop: asyncio.AbstractEventLoop | None = None
        cfg = build_config(type(plugin_obj).Config, dict(config), plugin)
        path = Path(data_dir)
        path.mkdir(parents=True, exist_ok=True)
        self._backend = backend
        self.ctx = PluginContext(name=name, config=cfg, data_dir=path, backend=backend)
        self._run(plugin_obj.initialize(self.ctx))
        self.state = "ACTIVE"

    def _run(self, value: Any) -> Any:
        if inspect.isawaitable(value):
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
            return self._loop.run_until_complete(value)
        return value

    def fetch(self, state: dict[str, Any] | None) -> Iterator[Record | Checkpoint]:
        """What the connector yields; a record breaking the contract comes as its refusal."""
        it = getattr(self._obj, "fetch")(state)  # noqa: B009 - kind checked by the caller
        if isinstance(it, AsyncIterator):
            yield from screen(self._iterate_async(it))
            return
        yield from screen(it)

    def fetch_chunks(self, state: dict[str, Any] | None, size: int = 500) -> Iterator[list[Any]]:
        """:meth:`fetch` in lists of up to ``size`` items (a checkpoint ends one)."""
        buf: list[Any] = []
        try:
            for item in self.fetch(state):
                buf.append(item)
                if len(buf) >= size or type(item) is Checkpoint:
                    yield buf
                    buf = []
        except Exception:
            if buf:  # what came before a failure is still handed on, then the failure
                yield buf
            raise
        if buf:
            yield buf

    def _iterate_async(self, it: AsyncIterator[Any]) -> Iterator[Any]:
        while True:
            try:
                yield self._run(it.__anext__())
            except StopAsyncIteration:
                return

    def process(self, batch: list[Record]) -> list[Record]:
        out = list(self._run(getattr(self._obj, "process")(batch)))  # noqa: B009
        check_returned(out, self.plugin)  # as the manager's handles do (see _inprocess)
        return out

    def analyze(self, batch: list[Record]) -> None:
        self._run(getattr(self._obj, "analyze")(batch))  # noqa: B009

    def result(self) -> dict[str, Any]:
        return dict(self._run(getattr(self._obj, "result")()))  # noqa: B009

    def render(self, result: dict[str, Any]) -> list[Figure | str]:
        return list(self._run(getattr(self._obj, "render")(result)))  # noqa: B009

    def close(self) -> None:
        """Shut the plugin down and close the loop (idempotent)."""
        if self.state == "ACTIVE":
            self._run(self._obj.shutdown())
            self.state = "UNLOADED"
        if self._loop is not None:
            self._loop.close()
            self._loop = None
        close = getattr(self._backend, "close", None)
        if callable(close):
            close()


def _entry(plugin: str) -> tuple[type[BasePlugin], Manifest]:
    for ep in metadata.entry_points(group="wiseflow.plugins"):
        if ep.name == plugin:
            cls = ep.load()
            module = inspect.getmodule(cls)
            assert module is not None
            assert module.__file__ is not None
            return cls, load_manifest(Path(module.__file__).parent)
    raise EntryNotFound(f"no installed plugin named {plugin!r}", plugin=plugin)


def local_stage(
    plugin: str,
    *,
    name: str | None = None,
    config: Mapping[str, Any] | None = None,
    data_dir: str | Path,
    secrets: Mapping[str, str | None] | None = None,
) -> LocalStage:
    """An installed (entry-point) plugin as a :class:`LocalStage`, granted what its
    manifest declares for ``config``. Secrets come from ``secrets`` or the environment."""
    cls, manifest = _entry(plugin)
    config = dict(config or {})
    grants = grants_for(manifest, config)
    env = {k: (secrets or {}).get(k, os.environ.get(k)) for k in grants["env"]}
    instance = name or plugin
    backend = LocalBackend(
        instance, read_roots=grants["fs_read"], hosts=grants["network"], secrets=env
    )
    return LocalStage(
        cls(),
        name=instance,
        plugin=plugin,
        config=config,
        data_dir=Path(data_dir) / "plugins" / instance,
        backend=backend,
    )


def local_stages(
    pipeline: Any, data_dir: str | Path
) -> tuple[list[LocalStage], list[LocalStage], list[LocalStage]]:
    """Every stage of a :class:`~wiseflow._pipeline.Pipeline` as installed-plugin
    :class:`LocalStage` objects: ``(sources, processors, analyzers)``."""

    def build(specs: Iterable[Any]) -> list[LocalStage]:
        return [
            local_stage(s.plugin, name=s.name, config=s.config, data_dir=data_dir) for s in specs
        ]

    return build(pipeline.sources), build(pipeline.processors), build(pipeline.analyzers)
