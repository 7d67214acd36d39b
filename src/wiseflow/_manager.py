"""The plugin manager: one registry of plugin instances, driven through their lifecycle.

There is no module-level state: every manager has its own registry, event bus and store
of handles. The manager never holds its lock while plugin code runs, so a plugin may call
back into the manager (``ctx.plugin``, ``get``) from ``initialize`` without deadlock.
"""

from __future__ import annotations

import builtins
import logging
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._approval import Approvals
from ._assembly import PluginSpec, audit_gate, audit_threshold, build_handle, direct_candidate
from ._discovery import Candidate, Discovery, discover
from ._errors import (
    ConfigError,
    DiscoveryError,
    MissingDependency,
    Problem,
    SignatureInvalid,
    WiseflowError,
    error_from_dict,
)
from ._grants import anchor_paths
from ._identity import Admission, admit, origin_of
from ._lifecycle import EventBus, PluginState
from ._lock import LOCK_NAME, Lock
from ._operator import OperatorConfig
from ._plugin import BasePlugin
from ._redact import Redactor
from ._suggest import did_you_mean

if TYPE_CHECKING:  # loaded when the first plugin is, so listings stay fast
    from ._handle import PluginHandle
    from ._resolve import Resolution

__all__ = ["PluginManager", "dependency_instance", "direct_candidate"]

log = logging.getLogger("wiseflow.manager")


def dependency_instance(plugin: str, dependent: str) -> str:
    """The instance serving ``dependent``'s ``ctx.plugin(plugin)`` calls.

    Every dependent gets an instance of its own (``text@github``), never a pipeline's
    stage of the same plugin nor another dependent's: no state (secrets passed in, data
    planted) is shared between two plugins through a common dependency.
    """
    return f"{plugin}@{dependent}"


class PluginManager:
    """Finds, checks, loads and runs plugins; one instance per host or test.

    Args:
        config: the operator configuration (``wiseflow.toml``); defaults when None.
        plugin_dirs: more plugin folders, after those of ``config``.
        entry_points: also discover installed distributions.
        plugins: plugin classes handed in directly (always run at level ``trusted``,
            unless located: see :class:`~wiseflow._assembly.Located`).
        data_dir: overrides ``config.wiseflow.data_dir``; a relative path is taken from the
            current folder and made absolute here.
        level: overrides every plugin's security level (e.g. ``"trusted"`` in tests).
        cache: keep a discovery cache under the data dir.
        lock: the approvals (``wiseflow.lock``); read beside ``config`` when None.
        http_transport: an ``httpx`` transport every broker sends through (fake HTTP in
            tests); None: the network.

    Example:
        >>> with PluginManager(plugins=[MyProcessor], entry_points=False) as pm:
        ...     handle = pm.start("myprocessor")
        ...     handle.process(batch)
    """

    def __init__(
        self,
        config: OperatorConfig | None = None,
        *,
        plugin_dirs: Sequence[str | Path] = (),
        entry_points: bool = True,
        plugins: Sequence[PluginSpec] = (),
        data_dir: str | Path | None = None,
        level: str | None = None,
        cache: bool = True,
        lock: Lock | None = None,
        http_transport: Any = None,
    ) -> None:
        self.config = config or OperatorConfig()
        self.events = EventBus()
        #: Granted secret values, masked in everything the host writes (fed by the brokers).
        self.redactor = Redactor()
        # Absolute from here on: workers run in another folder, and a relative data dir
        # handed to them (their fs grant, their log) named nothing they could open.
        self.data_dir = (
            Path(data_dir).expanduser().resolve()
            if data_dir
            else self.config.resolve_path(self.config.wiseflow.data_dir).resolve()
        )
        dirs = [self.config.resolve_path(d) for d in self.config.wiseflow.plugin_dirs]
        self.plugin_dirs = [*dirs, *(Path(d).resolve() for d in plugin_dirs)]
        self.entry_points = entry_points
        self.level_override = level
        self.cache = cache
        self._direct: dict[str, type[BasePlugin]] = {}
        self._direct_candidates: list[Candidate] = []
        self.http_transport = http_transport
        for spec in plugins:
            cand, cls = direct_candidate(spec)
            if cls is not None:
                self._direct[cand.manifest.name] = cls
            self._direct_candidates.append(cand)
        self._handles: dict[str, PluginHandle] = {}
        self._load_order: list[str] = []
        self._configs: dict[str, dict[str, Any]] = {}
        self._lock = threading.RLock()
        self._discovery: Discovery | None = None
        self._admission: Admission | None = None
        self.approvals = Approvals(
            self.config,
            self.config.base_dir / LOCK_NAME,
            hash_cache=self.data_dir / "cache" / "hashes.json" if cache else None,
            lock=lock,
        )

    # -- finding ---------------------------------------------------------------------------

    def discover(self, *, refresh: bool = False) -> Discovery:
        """Every plugin on offer, read from manifests only (no plugin code runs)."""
        if self._discovery is None or refresh:
            self._discovery = discover(
                plugin_dirs=self.plugin_dirs,
                entry_points=self.entry_points,
                direct=self._direct_candidates,
                cache_dir=(self.data_dir / "cache") if self.cache else None,
            )
            self._admission = None
        return self._discovery

    def admission(self) -> Admission:
        """Which candidates may answer to their name (see :mod:`wiseflow._identity`)."""
        discovery = self.discover()
        if self._admission is None:
            self._admission = self.admit_candidates(discovery.candidates)
        return self._admission

    def admit_candidates(self, candidates: Sequence[Candidate]) -> Admission:
        """The admission of ``candidates`` under this manager's config, pins and lock."""
        return admit(
            candidates,
            configured={n for n in self.config.plugins if not n.startswith("_")},
            lock=self.approvals.lock,
            pinned=lambda name: self.config.plugin(name).origin,
            matches_pin=self._origin_matches,
        )

    def resolve(self, want: Iterable[str] | None = None) -> Resolution:
        """Choose versions and a load order for ``want`` (everything when None)."""
        from ._resolve import resolve  # packaging loads only when versions are compared

        return resolve(list(self.admission().candidates), want=want)

    def _origin_matches(self, origin: str, cand: Candidate) -> bool:
        """``origin`` (wiseflow.toml) names a kind of origin (``dir``, ``entry-point``), a
        plugin folder (relative to wiseflow.toml), a distribution or an identity origin."""
        if origin in (cand.origin, cand.location, origin_of(cand)):
            return True
        if cand.origin == "dir":
            return str(self.config.resolve_path(origin).resolve()) == cand.location
        return cand.location.split("==")[0] == origin

    # -- identity --------------------------------------------------------------------------

    def verify(self, cand: Candidate) -> dict[str, str] | None:
        """WF303 unless a locked candidate is exactly what was approved (see
        :meth:`Approvals.verify`); the approved file digests, or None when not locked."""
        return self.approvals.verify(cand, self.level_for(cand.manifest.name))

    # -- registry --------------------------------------------------------------------------

    def get(self, name: str) -> PluginHandle:
        """The handle of a loaded instance; WF100 when it is not loaded."""
        with self._lock:
            handle = self._handles.get(name)
        if handle is None:
            raise DiscoveryError(
                f"plugin '{name}' is not loaded",
                plugin=name,
                hint="load it first (PluginManager.load/start) or check `wiseflow plugins list`",
            )
        return handle

    def list(self, kind: str | None = None) -> list[PluginHandle]:
        """Loaded instances, in load order, optionally of one kind."""
        with self._lock:
            handles = [self._handles[n] for n in self._load_order if n in self._handles]
        return [h for h in handles if kind is None or h.kind == kind]

    def __contains__(self, name: str) -> bool:
        return name in self._handles

    # -- lifecycle -------------------------------------------------------------------------

    def level_for(self, name: str) -> str:
        if name in self._direct and not any(  # a located class may run in a worker
            c.code_root for c in self._direct_candidates if c.manifest.name == name
        ):
            return "trusted"
        return self.level_override or self.config.level_for(name)

    def problems_for(self, names: Iterable[str]) -> builtins.list[Problem]:
        """Discovery problems that stand in the way of loading ``names``.

        A broken candidate never takes a valid one of the same name out of service: its
        problems count only when no candidate of that name was admitted. A candidate refused
        its name (another origin owns it) counts only when nothing else answers to it.
        """
        names = set(names)
        admission = self.admission()
        valid = {c.manifest.name for c in admission.candidates}
        out = []
        for p in self.discover().problems:
            if p.plugin not in names:
                continue
            if p.code == "WF104":  # same version from two places
                if p.plugin in admission.owner:
                    continue  # settled: pinned, locked or configured
            elif p.plugin in valid:
                continue
            out.append(p)
        for name in sorted(names - valid):
            out += admission.refused_for(name)
        return out

    def _raise_problems(self, problems: Sequence[Problem], name: str) -> None:
        if not problems:
            return
        first = problems[0]
        err = error_from_dict(
            {
                "code": first.code,
                "message": "; ".join(p.message for p in problems),
                "plugin": first.plugin or name,
                "hint": first.hint,
            }
        )
        err.problems = tuple(problems)
        raise err

    def load(
        self,
        name: str,
        *,
        instance: str | None = None,
        config: dict[str, Any] | None = None,
        base_dir: str | Path | None = None,
    ) -> PluginHandle:
        """Resolve ``name``, start its dependencies, import (or start a worker) and check it.

        ``config`` is the instance's raw config; it also expands permission placeholders.
        Relative paths in the fields those placeholders name resolve against ``base_dir``
        (the folder of the file that holds ``config``, e.g. the pipeline file's); without
        ``config``, the ``[plugins.NAME] config`` of wiseflow.toml is used, and its paths
        resolve against wiseflow.toml's folder.
        """
        inst = instance or name
        with self._lock:
            if inst in self._handles and self._handles[inst].state is not PluginState.UNLOADED:
                return self._handles[inst]
        resolution = self.resolve([name])
        related = set(resolution.order) | {name}
        problems = self.problems_for(related) + list(resolution.problems)
        self._raise_problems(problems, name)
        if name not in resolution.selected:
            known = (c.manifest.name for c in self.discover().candidates)
            raise MissingDependency(
                f"no plugin named '{name}' was found{did_you_mean(name, known)}",
                plugin=name,
                hint="check `wiseflow plugins list`, plugin_dirs and --plugin-dir",
            )
        cand = resolution.selected[name]
        files = self.verify(cand)  # WF303 before anything of it (or its deps) starts
        fallback = cand.manifest.fallback
        if fallback and fallback in resolution.selected and fallback not in self._handles:
            try:  # a fallback that cannot start must not keep its primary from starting
                self.start(fallback)
            except WiseflowError as exc:
                log.warning("plugin %s: its fallback %s did not start: %s", name, fallback, exc)
        for req in cand.manifest.requires:
            if req.name not in resolution.selected or req.name == fallback:
                continue  # an optional requirement that is absent
            private = dependency_instance(req.name, inst)
            if private not in self._handles:
                self.start(req.name, instance=private)
        self._audit_gate(cand)
        if config is None:
            config, base_dir = self.config.plugin(name).config, self.config.base_dir
        raw = dict(config)
        if base_dir is not None:
            raw = anchor_paths(cand.manifest.permissions, raw, Path(base_dir).resolve())
        handle = self._make_handle(inst, cand, raw, files=files)
        with self._lock:
            self._handles[inst] = handle
            if inst in self._load_order:
                self._load_order.remove(inst)
            self._load_order.append(inst)
            self._configs[inst] = raw
        try:
            try:
                handle.runner.load()
            except WiseflowError:
                # What the loader said about the plugin's files (changed while it loaded,
                # bytecode without source) came through plugin code: the host looks itself,
                # and only its own finding is a verdict (WF303).
                self.approvals.recheck(cand)
                raise
        except WiseflowError as exc:
            handle.last_error = exc
            handle.lifecycle.transition(PluginState.ERROR, f"{exc.code}: {exc.message}")
            raise
        handle.lifecycle.transition(PluginState.LOADED, f"from {cand.origin} {cand.location}")
        self._wire_fallback(handle)
        return handle

    def _wire_fallback(self, handle: PluginHandle) -> None:
        """Let the manifest's ``fallback`` (started with the dependencies) stand in."""
        name = handle.manifest.fallback
        fb = self._handles.get(name) if name else None
        if fb is None:
            return
        from ._resilience import fallback_problem

        problem = fallback_problem(handle.manifest, fb.manifest)
        seen: set[str] = {handle.name}
        walk: PluginHandle | None = fb
        while problem is None and walk is not None:  # no cycles through longer chains
            if walk.name in seen:
                problem = f"fallbacks of '{handle.name}' go round in a circle"
            seen.add(walk.name)
            walk = walk.fallback
        if problem:
            log.warning("plugin %s: fallback not used: %s", handle.name, problem)
            return
        handle.fallback = fb

    def audit_threshold(self, name: str) -> str:
        """The severity from which ``name`` is refused (``strict`` caps it at medium)."""
        return audit_threshold(self.config.policy.audit_block, self.level_for(name))

    def _audit_gate(self, cand: Candidate) -> None:
        if self.config.policy.require_signature and cand.origin != "direct":
            # No signature scheme exists yet: fail closed rather than run unsigned code.
            raise SignatureInvalid(
                f"plugin '{cand.manifest.name}' has no verifiable signature, and "
                "[policy] require_signature = true",
                plugin=cand.manifest.name,
                hint="this wiseflow version cannot verify plugin signatures; set "
                "require_signature = false to run unsigned plugins you trust",
            )
        audit_gate(cand, self.audit_threshold(cand.manifest.name))

    def _make_handle(
        self,
        inst: str,
        cand: Candidate,
        raw: dict[str, Any],
        *,
        files: dict[str, str] | None = None,
        level: str | None = None,
        check: bool = False,
        scratch: bool = False,
    ) -> PluginHandle:
        """A handle (runner, broker, policy) for one instance; no plugin code runs yet.

        ``files``: the approved digests the plugin's code is checked against as it loads;
        ``level``: run at this level instead of the configured one (``check`` uses strict);
        ``check``: loaded only to be checked (interface problems reported, not raised);
        ``scratch``: a throwaway instance that must not create the data dir.
        """
        return build_handle(
            self,
            inst,
            cand,
            raw,
            grant=self.approvals.grant_for(cand),
            files=files,
            level=level or self.level_for(cand.manifest.name),
            check=check,
            scratch=scratch,
            call_dependency=lambda dep, method, args: self._call_dependency(
                inst, dep, method, args
            ),
        )

    def _call_dependency(
        self, dependent: str, name: str, method: str, args: builtins.list[Any]
    ) -> Any:
        return self.get(dependency_instance(name, dependent)).invoke(method, *args)

    def initialize(self, name: str, config: dict[str, Any] | None = None) -> PluginHandle:
        """Validate the config (WF105) and call the plugin's ``initialize``."""
        handle = self.get(name)
        raw = self._configs.get(name, {}) if config is None else dict(config)
        self._configs[name] = raw
        handle.config = raw
        try:
            handle.initialize(raw)
        except ConfigError:
            raise  # stays LOADED: the operator fixes the config and tries again
        except Exception as exc:
            err = handle._failed(exc, "initialize")
            if handle.lifecycle.can(PluginState.ERROR):
                handle.lifecycle.transition(PluginState.ERROR, f"{err.code}: {err.message}")
            raise err from exc
        handle.lifecycle.transition(PluginState.INITIALIZED)
        return handle

    def activate(self, name: str) -> PluginHandle:
        """INITIALIZED → ACTIVE: the plugin starts taking calls."""
        handle = self.get(name)
        handle.lifecycle.transition(PluginState.ACTIVE)
        return handle

    def start(
        self, name: str, config: dict[str, Any] | None = None, *, instance: str | None = None
    ) -> PluginHandle:
        """Load, initialize and activate ``name`` (and its dependencies) in one go."""
        handle = self.load(name, instance=instance, config=config)
        if handle.state is PluginState.LOADED:
            self.initialize(handle.name)
        if handle.state is PluginState.INITIALIZED:
            self.activate(handle.name)
        return handle

    def disable(self, name: str, reason: str = "disabled by operator") -> PluginHandle:
        """→ DISABLED: calls are refused and the plugin's resources released until enabled."""
        handle = self.get(name)
        handle.lifecycle.transition(PluginState.DISABLED, reason)
        handle.disable()  # releases the worker, threads, scratch files
        return handle

    def enable(self, name: str) -> PluginHandle:
        """DISABLED → ACTIVE; ERROR → a fresh start with the same config."""
        handle = self.get(name)
        if handle.state is PluginState.ERROR:
            # in place: a pipeline holding this handle sees the plugin come back
            handle.config = self._configs.get(name, handle.config)
            handle.recover("re-enabled by operator")
            if handle.breaker is not None:
                handle.breaker.reset()
            return handle
        handle.resume()
        handle.lifecycle.transition(PluginState.ACTIVE, "enabled")
        return handle

    def _release(self, handle: PluginHandle) -> None:
        handle.release()

    def shutdown(self, name: str) -> PluginHandle:
        """Call the plugin's ``shutdown`` and release everything it holds (→ UNLOADED)."""
        handle = self.get(name)
        if handle.state is PluginState.UNLOADED:
            return handle
        self._release(handle)
        handle.lifecycle.transition(PluginState.UNLOADED, "shut down")
        self.events.unsubscribe_plugin(name)
        return handle

    def uninstall(self, name: str) -> None:
        """Shut down and forget the instance; its event subscriptions are dropped too."""
        handle = self.get(name)
        if handle.state in (PluginState.INITIALIZED, PluginState.ACTIVE):
            self.shutdown(name)
        else:
            self._release(handle)
        handle.lifecycle.transition(PluginState.UNINSTALLED, "uninstalled")
        self.events.unsubscribe_plugin(name)
        with self._lock:
            self._handles.pop(name, None)
            if name in self._load_order:
                self._load_order.remove(name)
        if handle.origin == "dir":
            from ._loader import forget_folder_plugin  # import machinery only when needed

            forget_folder_plugin(handle.plugin)

    def close(self) -> None:
        """Shut every instance down, dependents before their dependencies."""
        for handle in reversed(self.list()):
            if handle.state not in (PluginState.UNLOADED, PluginState.UNINSTALLED):
                self._release(handle)
                if handle.lifecycle.can(PluginState.UNLOADED):
                    handle.lifecycle.transition(PluginState.UNLOADED, "manager closed")

    def __enter__(self) -> PluginManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
