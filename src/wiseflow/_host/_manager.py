"""The plugin manager: one registry of plugin instances, driven through their lifecycle.

There is no module-level state: every manager has its own registry, event bus and store
of handles. The manager never holds its lock while plugin code runs, so a plugin may call
back into the manager (``ctx.plugin``, ``get``) from ``initialize`` without deadlock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._contract._errors import Problem, WiseflowError
from .._discovery import Candidate, Discovery
from .._policy._approval import Approvals
from .._policy._grants import anchor_paths
from .._policy._identity import Admission
from .._policy._lock import LOCK_NAME, Lock
from .._policy._operator import OperatorConfig
from .._policy._redact import Redactor
from .._repo._index import refuse_blocked
from ._assembly import (
    HostParts,
    PluginSpec,
    build_handle,
    dependency_instance,
    direct_candidate,
    direct_plugins,
    wire_fallback,
)
from ._catalog import Catalog
from ._gate import audit_gate, audit_threshold
from ._lifecycle import EventBus, PluginState
from ._registry import Registry
from ._transitions import Transitions

if TYPE_CHECKING:  # loaded when the first plugin is, so listings stay fast
    from .._resolve import Resolution
    from ._handle import PluginHandle

__all__ = ["PluginManager", "dependency_instance", "direct_candidate"]

log = logging.getLogger("wiseflow.manager")


class PluginManager(Transitions):
    """Finds, checks, loads and runs plugins; one instance per host or test.

    Loading is here; the transitions of a loaded instance (initialize, activate, disable,
    enable, shutdown, uninstall, replace, close) come from :class:`~._transitions.Transitions`.

    Args:
        config: the operator configuration (``wiseflow.toml``); defaults when None.
        plugin_dirs: more plugin folders, after those of ``config``.
        entry_points: also discover installed distributions.
        plugins: plugin classes handed in directly (always run at level ``trusted``,
            unless located: see :class:`~wiseflow._host._assembly.Located`).
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
        self.http_transport = http_transport
        self._direct_candidates, self._direct = direct_plugins(plugins)
        self._registry = Registry()
        self.approvals = Approvals(
            self.config,
            self.config.base_dir / LOCK_NAME,
            hash_cache=self.data_dir / "cache" / "hashes.json" if cache else None,
            lock=lock,
        )
        self._host = HostParts(
            config=self.config,
            data_dir=self.data_dir,
            events=self.events,
            redactor=self.redactor,
            http_transport=http_transport,
        )
        #: Discovery, admission and resolution (manifests only; no plugin code runs).
        self.catalog = Catalog(
            self.config,
            plugin_dirs=self.plugin_dirs,
            entry_points=entry_points,
            direct=self._direct_candidates,
            cache_dir=(self.data_dir / "cache") if cache else None,
            lock=lambda: self.approvals.lock,
            # installed from a repository (SPEC §14): with the other installed plugins
            installed=self.data_dir / "installed" if entry_points else None,
        )

    # -- finding (the catalog's) -----------------------------------------------------------

    def discover(self, *, refresh: bool = False) -> Discovery:
        """Every plugin on offer, read from manifests only (no plugin code runs)."""
        return self.catalog.discover(refresh=refresh)

    def admission(self) -> Admission:
        """Which candidates may answer to their name (see :mod:`wiseflow._policy._identity`)."""
        return self.catalog.admission()

    def admit_candidates(self, candidates: Sequence[Candidate]) -> Admission:
        """The admission of ``candidates`` under this manager's config, pins and lock."""
        return self.catalog.admit(candidates)

    def resolve(self, want: Iterable[str] | None = None) -> Resolution:
        """Choose versions and a load order for ``want`` (everything when None)."""
        return self.catalog.resolve(want)

    def problems_for(self, names: Iterable[str]) -> list[Problem]:
        """Discovery problems that stand in the way of loading ``names``; see
        :meth:`Catalog.problems_for <wiseflow._host._catalog.Catalog.problems_for>`."""
        return self.catalog.problems_for(names)

    def verify(self, cand: Candidate) -> dict[str, str] | None:
        """WF303 unless a locked candidate is exactly what was approved (see
        :meth:`Approvals.verify`); the approved file digests, or None when not locked."""
        return self.approvals.verify(cand, self.level_for(cand.manifest.name))

    # -- registry and lifecycle ------------------------------------------------------------

    def get(self, name: str) -> PluginHandle:
        """The handle of a loaded instance; WF100 when it is not loaded."""
        return self._registry.require(name)

    def handles(self, kind: str | None = None) -> list[PluginHandle]:
        """Loaded instances, in load order, optionally of one kind (was ``list()``)."""
        return [h for h in self._registry.handles() if kind is None or h.kind == kind]

    def __contains__(self, name: str) -> bool:
        return name in self._registry

    def level_for(self, name: str) -> str:
        if name in self._direct and not any(  # a located class may run in a worker
            c.code_root for c in self._direct_candidates if c.manifest.name == name
        ):
            return "trusted"
        return self.level_override or self.config.level_for(name)

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
        known = self._registry.get(inst)
        if known is not None and known.state is not PluginState.UNLOADED:
            return known
        resolution = self.catalog.select(name)  # WF1xx/WF2xx before anything starts
        cand = resolution.selected[name]
        if cand.origin == "repo":  # the kill switch: blocklisted by its repository (SPEC §14)
            refuse_blocked(self.data_dir, cand)
        files = self.verify(cand)  # WF303 before anything of it (or its deps) starts
        fallback = cand.manifest.fallback
        if fallback and fallback in resolution.selected and fallback not in self._registry:
            try:  # a fallback that cannot start must not keep its primary from starting
                self.start(fallback)
            except WiseflowError as exc:
                log.warning("plugin %s: its fallback %s did not start: %s", name, fallback, exc)
        for req in cand.manifest.requires:
            if req.name not in resolution.selected or req.name == fallback:
                continue  # an optional requirement that is absent
            private = dependency_instance(req.name, inst)
            if private not in self._registry:
                self.start(req.name, instance=private)
        audit_gate(
            cand,
            self.audit_threshold(cand.manifest.name),
            require_signature=self.config.policy.require_signature,
            signed=cand.origin == "repo" and files is not None,  # TUF-verified, lock-pinned
            cache_dir=self.data_dir / "cache" if self.cache else None,
        )
        if config is None:
            config, base_dir = self.config.plugin(name).config, self.config.base_dir
        raw = dict(config)
        if base_dir is not None:
            raw = anchor_paths(cand.manifest.permissions, raw, Path(base_dir).resolve())
        handle = self._assemble(inst, cand, raw, files=files)
        self._registry.add(inst, handle, raw)
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
        # started with the dependencies, the manifest's fallback may stand in
        wire_fallback(handle, self._registry.get(handle.manifest.fallback))
        return handle

    def audit_threshold(self, name: str) -> str:
        """The severity from which ``name`` is refused (``strict`` caps it at medium)."""
        return audit_threshold(self.config.policy.audit_block, self.level_for(name))

    def probe(
        self,
        inst: str,
        cand: Candidate,
        config: dict[str, Any],
        *,
        files: dict[str, str] | None,
        level: str | None = None,
        check: bool = False,
    ) -> PluginHandle:
        """A throwaway handle for ``cand``, outside the registry (``plugins check``/``info``).

        Nothing of it runs until the caller loads its runner, and the caller closes that
        runner. When the data dir does not exist yet, its files go to a temporary folder.

        Args:
            files: the approved digests (:meth:`verify`) its code is checked against.
            level: run at this level instead of the configured one (``"strict"`` to vet).
            check: loaded only to be checked (interface problems reported, not raised).
        """
        return self._assemble(inst, cand, config, files=files, level=level, check=check,
                              scratch=True)  # fmt: skip

    def _assemble(
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
        """A handle (runner, broker, policy) for one instance; no plugin code runs yet."""
        return build_handle(
            self._host,
            inst,
            cand,
            raw,
            plugin_class=self._direct.get(cand.manifest.name),
            grant=self.approvals.grant_for(cand),
            files=files,
            level=level or self.level_for(cand.manifest.name),
            check=check,
            scratch=scratch,
            python=getattr(self.approvals.entry(cand), "python", None),  # its own env (§14)
            call_dependency=lambda dep, method, args: self._call_dependency(
                inst, dep, method, args
            ),
        )

    def _call_dependency(self, dependent: str, name: str, method: str, args: list[Any]) -> Any:
        return self.get(dependency_instance(name, dependent)).invoke(method, *args)

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

    def __enter__(self) -> PluginManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    if not TYPE_CHECKING:  # hidden from type checkers: in the class body it shadowed `list`

        def list(self, kind=None):
            """Deprecated: use :meth:`handles`."""
            import warnings

            warnings.warn(
                "PluginManager.list() is deprecated; use PluginManager.handles()",
                DeprecationWarning,
                stacklevel=2,
            )
            return self.handles(kind)
