"""Assembling a plugin instance: the audit gate, grants, broker, runner and policy.

Everything here happens before any plugin code runs. The manager calls it with what the
host shares (:class:`HostParts`) and keeps the result in its registry; nothing here knows
the manager.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, final

from .._contract._ceilings import effective_limits
from .._contract._manifest import Manifest
from .._contract._plugin import BasePlugin
from .._discovery import Candidate
from .._policy._datadir import data_dir_guard
from .._policy._grants import Grant, effective_permissions
from .._policy._identity import plugin_root
from .._policy._operator import OperatorConfig
from ._lifecycle import Lifecycle
from ._locate import pythonpath_root
from ._runner import Runner, RunnerSpec

if TYPE_CHECKING:
    from .._envs import PythonEnv
    from .._policy._broker import Broker, DependencyCall
    from .._policy._redact import Redactor
    from ._handle import PluginHandle
    from ._lifecycle import EventBus
    from ._manager import PluginManager

__all__ = [
    "HostParts",
    "Located",
    "PluginSpec",
    "build_handle",
    "build_runner",
    "dependency_instance",
    "direct_candidate",
    "direct_plugins",
    "use_worker_runner",
    "wire_fallback",
]

log = logging.getLogger("wiseflow.manager")


@final
class Located:
    """A plugin its caller located itself (``wiseflow.testing``): a candidate, and the class.

    With ``cls``, the candidate is a class handed in whose module file was found:
    ``candidate.code_root`` is the folder its module imports from, so a worker can import
    it too, and it runs at the configured level (a bare class always runs trusted).
    Without ``cls``, its code is imported by its entry: from ``candidate.code_root`` (a
    package folder inside a project, say), or by name when that is None (installed code).
    """

    __slots__ = ("candidate", "cls")

    def __init__(self, candidate: Candidate, cls: type[BasePlugin] | None = None) -> None:
        self.candidate = candidate
        self.cls = cls


@final
class HostParts:
    """What every instance of one host shares: its config, data dir, event bus, the
    redactor of granted secrets and the HTTP transport brokers send through."""

    __slots__ = ("config", "data_dir", "events", "http_transport", "redactor", "worker_runner")

    def __init__(
        self,
        *,
        config: OperatorConfig,
        data_dir: Path,
        events: EventBus,
        redactor: Redactor,
        http_transport: Any = None,
    ) -> None:
        self.config = config
        self.data_dir = data_dir
        self.events = events
        self.redactor = redactor
        self.http_transport = http_transport
        self.worker_runner: Callable[..., Runner] | None = None


PluginSpec = type[BasePlugin] | tuple[Manifest, type[BasePlugin]] | Located


def direct_candidate(spec: PluginSpec) -> tuple[Candidate, type[BasePlugin] | None]:
    """A candidate for a plugin class handed in directly (tests, embedding).

    The class may carry ``name``, ``version`` and ``manifest_permissions`` attributes; or pass
    ``(Manifest, cls)`` to give the manifest explicitly. A :class:`Located` plugin comes
    with its candidate (and a class, or None when its entry is imported).
    """
    if isinstance(spec, Located):
        return spec.candidate, spec.cls
    if isinstance(spec, tuple):
        manifest, cls = spec
    else:
        cls = spec
        from .._contract._manifest import Permissions

        perms = getattr(cls, "manifest_permissions", None)
        manifest = Manifest(
            name=str(getattr(cls, "name", cls.__name__.lower())),
            version=str(getattr(cls, "version", "0.0.0")),
            kind=getattr(cls, "kind", "processor"),
            entry=f"{cls.__module__}:{cls.__qualname__}",
            description=(cls.__doc__ or "").strip().split("\n")[0],
            permissions=perms if isinstance(perms, Permissions) else Permissions(),
        )
    return Candidate(manifest=manifest, origin="direct", location="<direct>"), cls


def direct_plugins(
    plugins: Sequence[PluginSpec],
) -> tuple[list[Candidate], dict[str, type[BasePlugin]]]:
    """Candidates for plugins handed in directly, and their classes by name."""
    candidates: list[Candidate] = []
    classes: dict[str, type[BasePlugin]] = {}
    for spec in plugins:
        cand, cls = direct_candidate(spec)
        if cls is not None:
            classes[cand.manifest.name] = cls
        candidates.append(cand)
    return candidates, classes


def dependency_instance(plugin: str, dependent: str) -> str:
    """The instance serving ``dependent``'s ``ctx.plugin(plugin)`` calls.

    Every dependent gets an instance of its own (``text@github``), never a pipeline's
    stage of the same plugin nor another dependent's: no state (secrets passed in, data
    planted) is shared between two plugins through a common dependency.
    """
    return f"{plugin}@{dependent}"


def build_handle(
    host: HostParts,
    inst: str,
    cand: Candidate,
    raw: dict[str, Any],
    *,
    plugin_class: type[BasePlugin] | None,
    grant: Grant,
    files: dict[str, str] | None,
    level: str,
    call_dependency: DependencyCall,
    check: bool = False,
    scratch: bool = False,
    python: PythonEnv | None = None,
) -> PluginHandle:
    """Assemble one instance: grants, broker, runner of its level, policy, metering.

    Args:
        host: what the host shares with every instance.
        plugin_class: the class handed in directly, for a ``direct`` candidate.
        grant: what the operator granted this identity (wiseflow.toml and wiseflow.lock).
        files: approved file digests of a locked plugin, checked again as its code loads.
        level: the level it runs at.
        call_dependency: performs ``ctx.plugin(dep)`` calls for this instance.
        scratch: a throwaway instance (a check, a schema probe): when the data dir does not
            exist yet, its files go to a temporary folder, so that a read-only command does
            not create the data dir.
        python: the installed plugin's own environment (its lock entry's ``python``): a
            sandboxed worker starts with it first on its path (trusted: the host's own).
    """
    from .._policy._broker import Broker, HttpLimits
    from ._handle import PluginHandle
    from ._metering import PluginMeter, SoftLimits
    from ._resilience import CircuitBreaker, RetryPolicy

    m = cand.manifest
    config = host.config
    policy = config.plugin(m.name)
    temporary = None
    if scratch and not host.data_dir.is_dir():
        import tempfile

        temporary = tempfile.TemporaryDirectory(prefix=f"wiseflow-{inst}-")
        data_dir = Path(temporary.name)
    else:
        data_dir = host.data_dir / "plugins" / inst
        data_dir.mkdir(parents=True, exist_ok=True)
    perms = effective_permissions(m.permissions, grant, raw, level=level)
    # a worker starts isolated: a plugin found only through PYTHONPATH imports from there
    code_root = cand.code_root or (pythonpath_root(cand) if level != "trusted" else None)
    requires = frozenset(r.name for r in m.requires)
    limits = effective_limits(m.resources, policy.resources, config.policy)
    timeout_s = limits.timeout_s
    broker = Broker(
        inst,
        perms,
        data_dir=str(data_dir),
        requires=requires,
        call_dependency=call_dependency,
        # brokered I/O never outlives the plugin's own per-call timeout
        http_limits=HttpLimits(timeout_s=min(30.0, float(timeout_s))),
        read_roots=(code_root,) if code_root else (),
        redactor=host.redactor,  # secrets it hands out are masked in all the host writes
        http_transport=host.http_transport,
        grant_name=m.name,  # `inst` may be the pipeline's name for it, or `dep@dependent`
        level=level,
        protected=(str(host.data_dir),),  # no grant reaches the store, logs, others' data
    )
    spec = RunnerSpec(
        instance=inst,
        manifest=m,
        code_root=code_root,
        data_dir=str(data_dir),
        level=level,
        plugin_class=plugin_class if cand.origin == "direct" else None,
        root=plugin_root(cand),
        files=files,
        check=check,
        limits=limits,
        # an installed plugin's own environment, for its worker (wiseflow._envs; SPEC §14)
        python_path=_env_path(host.data_dir, python, m.name, level),
        protected=(str(host.data_dir),),
    )
    # a probe (scratch) never calls the plugin: what it was not granted does not matter yet
    denied = () if scratch else perms.denied
    runner = build_runner(spec, broker, config, perms_denied=denied, make=host.worker_runner)
    trusted = level == "trusted"
    hard: dict[str, float | None] = {
        "memory_mb": None if trusted else getattr(runner, "memory_mb", None),
        "cpu_s": getattr(runner, "cpu_seconds", None),
        "fds": None if trusted else getattr(runner, "max_open_files", None),
    }
    handle = PluginHandle(
        instance=inst,
        manifest=m,
        origin=cand.origin,
        level=level,
        runner=runner,
        lifecycle=Lifecycle(inst, host.events),
        timeout_s=timeout_s,
        retry=RetryPolicy.from_config(policy.retry),
        breaker=CircuitBreaker.from_config(policy.breaker),
        meter=PluginMeter(
            in_process=trusted,
            pid=runner.pid,
            remote=getattr(runner, "remote_sample", None),  # a worker on a Ray node
            soft=SoftLimits.derive(hard, policy.resources),
            watch=data_dir_guard(inst, data_dir, limits, runner),
        ),
        events=host.events,
        # a configured breaker also sets the cool-down after which ERROR is retried
        recover_after_s=policy.breaker.reset_s if policy.breaker else None,
        broker=broker,
    )
    if temporary is not None:  # removed with the handle (at the latest when the host exits)
        weakref.finalize(handle, temporary.cleanup)
    return handle


def _env_path(data_dir: Path, python: PythonEnv | None, name: str, level: str) -> tuple[str, ...]:
    if python is None:
        return ()
    from .._envs import host_conflicts, worker_path

    if level != "trusted":
        return worker_path(data_dir, python, name)
    conflicts = host_conflicts(python.pinned)  # trusted: in the host, with the host's packages
    if conflicts:
        log.warning(
            "plugin %s runs trusted, in the host's environment, which differs from its own: "
            "%s; run it sandboxed to use its own environment",
            name,
            "; ".join(conflicts)[:2000],
        )
    return ()


def wire_fallback(handle: PluginHandle, fb: PluginHandle | None) -> None:
    """Let the manifest's ``fallback`` instance ``fb`` stand in for ``handle``, unless it
    cannot (another kind, fewer methods) or the chain of fallbacks goes round in a circle."""
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


def build_runner(
    spec: RunnerSpec, broker: Broker, config: OperatorConfig, *, perms_denied: tuple[str, ...],
    make: Callable[..., Runner] | None = None,
) -> Runner:  # fmt: skip
    """In-process for ``trusted``; a confined worker otherwise (built by ``make``, the host's
    executor, else the process-wide hook), with the tighter limits."""
    if perms_denied:
        flags = " ".join(_grant_flag(d) for d in perms_denied if "(strict)" not in d)
        log.warning(
            "plugin %s asks for permissions that are not granted: %s%s",
            spec.manifest.name,
            ", ".join(perms_denied),
            f"; to grant: wiseflow plugins grant {spec.manifest.name} {flags}" if flags else "",
        )
    if spec.level == "trusted":
        from ._inprocess import InProcessRunner

        return InProcessRunner(spec, broker)
    from .._sandbox._runner import WorkerRunner

    # an executor's hook (``wiseflow._ray``) builds the confined runner elsewhere
    make = make or _worker_runner or WorkerRunner
    lim = effective_limits(
        spec.manifest.resources, config.plugin(spec.manifest.name).resources, config.policy
    )
    return make(
        spec,
        broker,
        memory_mb=lim.memory_mb,
        cpu_seconds=lim.cpu_seconds,
        max_open_files=lim.max_open_files,
        max_file_mb=lim.max_data_mb,  # one file can never hold more than the data dir may
        allow_weaker_sandbox=config.policy.allow_weaker_sandbox,
    )


#: What builds a confined instance's runner instead of a local ``WorkerRunner`` (None: local).
_worker_runner: Callable[..., Runner] | None = None


def use_worker_runner(
    factory: Callable[..., Runner] | None, manager: PluginManager | None = None
) -> Callable[..., Runner] | None:
    """Build sandboxed runners with ``factory`` (an executor's) for ``manager``'s instances
    (one pipeline's), or with None for every host without its own; the previous one."""
    global _worker_runner
    if manager is not None:
        host = manager._host
        previous, host.worker_runner = host.worker_runner, factory
        return previous
    previous, _worker_runner = _worker_runner, factory
    return previous


def _grant_flag(denied: str) -> str:
    """``network:host:443`` → ``--network host:443`` (the CLI flag that grants it)."""
    kind, _, value = denied.partition(":")
    flag = {"fs_read": "--fs-read", "fs_write": "--fs-write"}.get(kind, f"--{kind}")
    return f"{flag} {value}" if value else flag
