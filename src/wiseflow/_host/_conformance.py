"""The conformance suite (``wiseflow plugins test``): does a plugin keep the contract?

Checks, each reported with a message (SPEC §13):

- ``manifest``, ``interface``, ``plugins check``: what ``wiseflow plugins check`` finds
  (vetted in a strict worker, never in the host);
- ``config schema``: every field of ``Config`` has a description in the JSON Schema;
- ``connector checkpoint`` / ``processor keeps ids`` / ``analyzer result``: the kind's
  contract, on the plugin's own output (connectors are fetched as configured; processors
  and analyzers get :data:`SAMPLE_RECORDS`);
- ``shutdown idempotent``: ``shutdown()`` twice in a row does not fail;
- ``permissions``: run with what the manifest declares and nothing more, the plugin asked
  the broker for nothing else (no WF301).

At level ``sandboxed`` (the default) the plugin's code runs only in a confined worker.
This module finds the plugin, runs the suite and reports; ``_conformance_checks`` holds
the checks that look at a loaded plugin.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, final

import msgspec

from .._contract._errors import WiseflowError
from .._contract._suggest import did_you_mean
from ._conformance_checks import (
    KIND_CHECKS,
    SAMPLE_RECORDS,
    kind_check_name,
    schema_check,
    shutdown_check,
)

if TYPE_CHECKING:
    import httpx

    from .._contract._manifest import Manifest
    from .._discovery import Candidate
    from ._assembly import Located
    from ._kit import HttpAnswer
    from ._manager import PluginManager

__all__ = ["SAMPLE_RECORDS", "CheckResult", "ConformanceReport", "conformance"]


_MANIFEST_CODES = frozenset({"WF101"})
_INTERFACE_CODES = frozenset({"WF102", "WF103"})


@final
class CheckResult(msgspec.Struct, frozen=True):
    """One check of the suite: its name, whether it passed, and why."""

    name: str
    ok: bool
    message: str


@final
class ConformanceReport(msgspec.Struct, frozen=True):
    """The suite's verdict on one plugin: ``ok`` when every check passed."""

    plugin: str
    ok: bool
    checks: tuple[CheckResult, ...]

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` document: ``{"plugin", "ok", "checks": [{"name", "ok", "message"}]}``."""
        return msgspec.to_builtins(self)  # type: ignore[no-any-return]

    def describe(self) -> str:
        """Failed checks, one per line (everything passed: one line saying so)."""
        failed = [c for c in self.checks if not c.ok]
        if not failed:
            return f"{self.plugin}: {len(self.checks)} checks passed"
        lines = [f"{self.plugin}: {len(failed)} of {len(self.checks)} checks failed"]
        lines += [f"  {c.name}: {c.message}" for c in failed]
        return "\n".join(lines)


class _Suite:
    def __init__(self) -> None:
        self.checks: list[CheckResult] = []

    def add(self, name: str, ok: bool, message: str) -> None:
        self.checks.append(CheckResult(name, ok, message))

    def skip(self, names: list[str], why: str) -> None:
        for name in names:
            self.add(name, False, f"not run: {why}")


#: Failures after which the plugin's worker is gone (timeout, crash, quota): a shutdown()
#: check on it would blame shutdown() for what happened before.
_WORKER_ENDED = frozenset({"WF401", "WF402", "WF403"})


def conformance(
    target: str | Path,
    *,
    level: str = "sandboxed",
    config: Mapping[str, Any] | None = None,
    http: Mapping[str, HttpAnswer] | Callable[[httpx.Request], HttpAnswer | None] | None = None,
    manager: PluginManager | None = None,
) -> ConformanceReport:
    """Run the conformance suite on a plugin folder, project folder or installed name.

    Args:
        target: the folder holding ``plugin.toml``, a project folder (``pyproject.toml``),
            or the name of a discovered plugin.
        level: ``sandboxed`` (default: the code runs only in a confined worker) or
            ``trusted``.
        config: the config a connector is fetched with (default: the operator's
            ``[plugins.NAME] config`` for a name, else the plugin's defaults).
        http: fake responses for ``ctx.http`` (see :func:`wiseflow.testing.run_plugin`).
        manager: the manager whose discovery, lock and operator config apply (the CLI's);
            default: a fresh one over installed plugins.

    Example:
        >>> report = conformance("plugins/shout")  # doctest: +SKIP
        >>> report.ok, [c.name for c in report.checks if not c.ok]  # doctest: +SKIP

    Raises:
        ConfigError: WF105 for a level other than ``sandboxed`` or ``trusted`` (a typo in
            the caller's test, not a plugin that fails the suite).
    """
    if level not in ("sandboxed", "trusted"):
        from .._contract._errors import ConfigError

        raise ConfigError(f"unknown level {level!r}", hint="use sandboxed or trusted")
    with tempfile.TemporaryDirectory(prefix="wiseflow-conformance-") as tmp:
        if manager is None:
            from .._policy._lock import Lock
            from ._manager import PluginManager

            # a wiseflow.lock in the current folder is the operator's, not the test's
            with PluginManager(data_dir=Path(tmp) / "host", cache=False, lock=Lock()) as pm:
                return _conformance(pm, str(target), level, config, http, Path(tmp))
        return _conformance(manager, str(target), level, config, http, Path(tmp))


def _conformance(
    pm: PluginManager,
    target: str,
    level: str,
    config: Mapping[str, Any] | None,
    http: Any,
    tmp: Path,
) -> ConformanceReport:
    from ._check import check_plugin

    _require_target(pm, target)
    suite = _Suite()
    report = check_plugin(pm, target)
    manifest = [p for p in report.problems if p.code in _MANIFEST_CODES]
    interface = [p for p in report.problems if p.code in _INTERFACE_CODES]
    other = [p for p in report.problems if p not in manifest and p not in interface]

    def summary(problems: list[Any]) -> str:
        return "; ".join(f"{p.code} {p.message}" for p in problems[:3]) + (
            f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        )

    suite.add("manifest", not manifest, summary(manifest) or "plugin.toml is valid")
    suite.add("interface", not interface, summary(interface) or "the class implements its kind")
    suite.add(
        "plugins check",
        not other,
        summary(other) or "compatible, dependencies resolved, audit and identity clean",
    )
    later = ["config schema", "kind contract", "shutdown idempotent", "permissions"]
    if manifest or interface:
        suite.skip(later, "the plugin does not load")
        return ConformanceReport(report.plugin, False, tuple(suite.checks))
    try:
        spec = _spec(pm, target, level)
    except WiseflowError as exc:
        suite.skip(later, f"{exc.code}: {exc.message}")
        return ConformanceReport(report.plugin, False, tuple(suite.checks))
    name = spec.candidate.manifest.name
    kind = spec.candidate.manifest.kind
    later[1] = kind_check_name(kind)
    if config is None:
        config = dict(pm.config.plugin(name).config)
    deps = _dependencies(pm, spec.candidate.manifest)
    _run(suite, spec, deps, level, dict(config), http, tmp, later)
    ok = all(c.ok for c in suite.checks)
    return ConformanceReport(report.plugin, ok, tuple(suite.checks))


def _is_path(target: str) -> bool:
    return Path(target).exists() or "/" in target or target.endswith(".toml")


def _require_target(pm: PluginManager, target: str) -> None:
    """WF101 for a folder without plugin.toml, WF602 for an unknown name (bad input)."""
    from .._contract._errors import DiscoveryError, ManifestError
    from ._locate import manifest_path

    if _is_path(target):
        if not manifest_path(Path(target)).is_file():
            raise ManifestError(
                f"no plugin.toml in {target}",
                code="WF101",
                plugin=target,
                hint="give the folder holding plugin.toml, or a project folder whose "
                "package (src/PKG/ or PKG/) holds it",
            )
    elif target not in (known := {c.manifest.name for c in pm.discover().candidates}):
        raise DiscoveryError(
            f"no plugin named '{target}' was found{did_you_mean(target, known)}",
            code="WF602",
            plugin=target,
            hint="give a plugin folder path, or check `wiseflow plugins list`",
        )


def _spec(pm: PluginManager, target: str, level: str) -> Located:
    from ._assembly import Located
    from ._kit import plugin_spec

    if _is_path(target):
        return plugin_spec(Path(target), level=level)
    cands = [c for c in pm.admission().candidates if c.manifest.name == target]
    if not cands:
        known = (c.manifest.name for c in pm.discover().candidates)
        raise WiseflowError(
            f"no plugin named '{target}' was found{did_you_mean(target, known)}",
            code="WF602",
            plugin=target,
            hint="give a plugin folder path, or check `wiseflow plugins list`",
        )
    return Located(max(cands, key=lambda c: c.manifest.parsed_version))


def _dependencies(pm: PluginManager, manifest: Manifest) -> list[Located]:
    """What ``manifest`` requires (and what that requires), as the manager discovered it."""
    from ._assembly import Located

    by_name: dict[str, list[Candidate]] = {}
    for c in pm.admission().candidates:
        by_name.setdefault(c.manifest.name, []).append(c)
    out: dict[str, Located] = {}
    todo = [r.name for r in manifest.requires]
    while todo:
        dep = todo.pop()
        if dep in out or dep == manifest.name or dep not in by_name:
            continue  # a missing one is reported by `plugins check`
        cand = max(by_name[dep], key=lambda c: c.manifest.parsed_version)
        out[dep] = Located(cand)
        todo.extend(r.name for r in cand.manifest.requires)
    return list(out.values())


def _run(
    suite: _Suite,
    spec: Located,
    deps: list[Located],
    level: str,
    config: dict[str, Any],
    http: Any,
    tmp: Path,
    later: list[str],
) -> None:
    from ._kit import FakeHttp, LogTap, kit_manager

    name = spec.candidate.manifest.name
    fake = FakeHttp(http) if http is not None else None
    tap = LogTap(name)
    # run with exactly what the manifest declares granted: any WF301 means it used more
    with (
        tap.attached(),
        kit_manager(
            spec, level=level, grants=None, data_dir=tmp / "run", http=fake, others=deps
        ) as pm,
    ):
        try:
            handle = pm.load(name, config=config)
        except WiseflowError as exc:
            suite.skip(later, f"{exc.code}: {exc.message}")
            return
        suite.add("config schema", *schema_check(handle.runner.config_schema()))
        try:
            pm.start(name, config)
        except WiseflowError as exc:
            hint = " (give the config with --plugin-config)" if exc.code == "WF105" else ""
            suite.skip(later[1:], f"{exc.code}: {exc.message}{hint}")
            return
        ended = None  # the code that ended the plugin's worker, if one did
        try:
            ok, message = KIND_CHECKS[handle.kind](handle)
        except WiseflowError as exc:
            ok, message = False, f"{exc.code}: {exc.message}"
            ended = exc.code if exc.code in _WORKER_ENDED else None
        suite.add(later[1], ok, message)
        if ended is None:
            suite.add(*shutdown_check(handle))
        else:  # no worker left to shut down: a failure now would not be shutdown()'s
            why = f"the worker was stopped by the failure above ({ended}); fix that first"
            suite.skip(["shutdown idempotent"], why)
        if tap.denied:
            suite.add(
                "permissions",
                False,
                "asked for more than it declares: "
                + "; ".join(tap.denied[:3])
                + " (declare it in [plugin.permissions])",
            )
        else:
            suite.add("permissions", True, "used no permission beyond those it declares")
