"""Stages in this process without the plugin manager: :func:`local_stage`, :func:`LocalStage`.

Each stage is a real :class:`~wiseflow._host._handle.PluginHandle` over an
:class:`~wiseflow._host._inprocess.InProcessRunner`: the ``trusted`` path, with the same plugin
core, interface check (WF103), config check (WF105), timeouts (WF401 for ``async``
methods), record contract and verdicts as ``wiseflow run``, but no retries, breakers or
fallbacks (nothing is configured) and no manager. Tests, benchmarks and the crash-test
driver use it. Grants still apply: :func:`LocalBackend` serves only the roots, hosts and
secrets it was given, resolved from the manifest's ``{field}`` placeholders by
:func:`grants_for`. ``close()`` a stage when done with it.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .._contract._errors import EntryNotFound
from .._contract._interface import KIND_BASES
from .._contract._manifest import Manifest, load_manifest
from .._contract._plugin import BasePlugin
from .._contract._verdict import plugin_failure
from .._host._handle import PluginHandle
from .._host._inprocess import InProcessRunner
from .._host._lifecycle import EventBus, Lifecycle, PluginState
from .._host._runner import RunnerSpec
from .._policy._broker import Broker
from .._policy._grants import Effective, Grant, effective_permissions, host_port

__all__ = ["LocalBackend", "LocalStage", "grants_for", "local_stage", "local_stages"]


def LocalBackend(
    plugin: str,
    *,
    read_roots: Iterable[str | Path] = (),
    hosts: Iterable[str] = (),
    secrets: Mapping[str, str | None] | None = None,
) -> Broker:
    """The host's :class:`~wiseflow._policy._broker.Broker` with a fixed grant (same checks)."""
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


def LocalStage(
    plugin_obj: BasePlugin,
    *,
    name: str,
    plugin: str,
    config: Mapping[str, Any],
    data_dir: str | Path,
    backend: Any,
) -> PluginHandle:
    """``plugin_obj`` (already constructed) as a running stage named ``name``.

    Its manifest is made up: ``plugin`` as the name, the kind its class subclasses, the
    default resources (so the default ``timeout_s``).
    """
    cls = type(plugin_obj)
    kind = next((k for k, base in KIND_BASES.items() if isinstance(plugin_obj, base)), "connector")
    manifest = Manifest(
        name=plugin, version="0.0.0", kind=kind, entry=f"{cls.__module__}:{cls.__qualname__}"
    )
    return _start(manifest, cls, name, config, data_dir, backend, origin="direct", obj=plugin_obj)


def _start(
    manifest: Manifest,
    cls: type[Any],
    instance: str,
    config: Mapping[str, Any],
    data_dir: str | Path,
    backend: Any,
    *,
    origin: str,
    obj: BasePlugin | None = None,
) -> PluginHandle:
    """Load and initialize one instance behind a handle of its own (ACTIVE), or raise."""
    spec = RunnerSpec(
        instance=instance,
        manifest=manifest,
        code_root=None,
        data_dir=str(data_dir),
        level="trusted",
        plugin_class=cls,
    )
    runner = InProcessRunner(spec, backend, plugin=obj, owns_backend=True)
    lifecycle = Lifecycle(instance, EventBus())
    handle = PluginHandle(
        instance=instance,
        manifest=manifest,
        origin=origin,
        level="trusted",
        runner=runner,
        lifecycle=lifecycle,
        timeout_s=spec.limits.timeout_s,
        broker=backend if isinstance(backend, Broker) else None,
    )
    step = "load"
    try:
        runner.load()
        lifecycle.transition(PluginState.LOADED, "local stage")
        step = "initialize"
        handle.initialize(dict(config))
    except Exception as exc:
        runner.close()
        err = plugin_failure(exc, instance, step)
        if err is exc:
            raise  # the host's own (WF103, WF105): as it was raised
        raise err from exc
    lifecycle.transition(PluginState.INITIALIZED, "local stage")
    lifecycle.transition(PluginState.ACTIVE, "local stage")
    return handle


def _entry(plugin: str) -> tuple[type[BasePlugin], Manifest]:
    from importlib import metadata  # ~10 ms: only when a stage names an installed plugin

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
) -> PluginHandle:
    """An installed (entry-point) plugin as a running stage, granted what its manifest
    declares for ``config``. Secrets come from ``secrets`` or the environment."""
    cls, manifest = _entry(plugin)
    config = dict(config or {})
    grants = grants_for(manifest, config)
    env = {k: (secrets or {}).get(k, os.environ.get(k)) for k in grants["env"]}
    instance = name or plugin
    backend = LocalBackend(
        instance, read_roots=grants["fs_read"], hosts=grants["network"], secrets=env
    )
    data = Path(data_dir) / "plugins" / instance
    return _start(manifest, cls, instance, config, data, backend, origin="entry-point")


def local_stages(
    pipeline: Any, data_dir: str | Path
) -> tuple[list[PluginHandle], list[PluginHandle], list[PluginHandle]]:
    """Every stage of a :class:`~wiseflow._pipeline.Pipeline` as an installed plugin's
    :func:`local_stage`: ``(sources, processors, analyzers)``."""

    def build(specs: Iterable[Any]) -> list[PluginHandle]:
        return [
            local_stage(s.plugin, name=s.name, config=s.config, data_dir=data_dir) for s in specs
        ]

    return build(pipeline.sources), build(pipeline.processors), build(pipeline.analyzers)
