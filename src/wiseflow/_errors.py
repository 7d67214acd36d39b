"""Errors, each with a code, the plugin or file concerned, and a hint.

The tree is grouped by what the caller should do::

    WiseflowError(code, message, plugin, hint)
    ├── PluginError               a plugin call failed: policy decides (WF400)
    │   ├── TransientError        retry with backoff (WF407)
    │   └── SkipRecord            dead-letter one record, continue (WF408)
    ├── DiscoveryError            WF1xx: fix the plugin or its manifest
    │   ├── ManifestError         WF101
    │   ├── EntryNotFound         WF102
    │   ├── InterfaceError        WF103
    │   ├── DuplicatePlugin       WF104
    │   └── ConfigError           WF105
    ├── DependencyError           WF2xx: fix what is installed or required
    │   ├── MissingDependency     WF201
    │   ├── VersionConflict       WF202
    │   ├── DependencyCycle       WF203
    │   ├── ApiIncompatible       WF204
    │   └── PythonIncompatible    WF205
    ├── SecurityError             WF3xx: refused; the operator decides
    │   ├── PermissionDenied      WF301
    │   ├── AuditRefused          WF302
    │   ├── IntegrityError        WF303
    │   ├── SignatureInvalid      WF304
    │   └── SandboxUnavailable    WF305
    ├── RuntimeFailure            WF4xx: the host stopped a plugin
    │   ├── PluginTimeout         WF401
    │   ├── WorkerCrashed         WF402
    │   ├── QuotaExceeded         WF403
    │   ├── CircuitOpen           WF404
    │   ├── InvalidTransition     WF405
    │   └── ProtocolViolation     WF406
    ├── PipelineError             WF501
    ├── StoreError                WF502
    └── RepositoryError           WF6xx (WF601 unreachable, WF602 not found, WF603 hash)

Warnings derive from :class:`WiseflowWarning`.
"""

# No `from __future__ import annotations` here: public Structs are re-homed to `wiseflow`,
# and msgspec resolves string annotations through the class's module.

from typing import Any, ClassVar

import msgspec

__all__ = [
    "ApiIncompatible",
    "AuditRefused",
    "CircuitOpen",
    "ConfigError",
    "DependencyCycle",
    "DependencyError",
    "DiscoveryError",
    "DuplicatePlugin",
    "EntryNotFound",
    "IntegrityError",
    "InterfaceError",
    "InvalidTransition",
    "ManifestError",
    "MissingDependency",
    "PermissionDenied",
    "PipelineError",
    "PluginError",
    "PluginTimeout",
    "Problem",
    "ProtocolViolation",
    "PythonIncompatible",
    "QuotaExceeded",
    "RepositoryError",
    "RuntimeFailure",
    "SandboxUnavailable",
    "SecurityError",
    "SignatureInvalid",
    "SkipRecord",
    "StoreError",
    "TransientError",
    "VersionConflict",
    "WiseflowError",
    "WiseflowWarning",
    "WorkerCrashed",
    "error_from_dict",
    "exit_code_for",
]


class Problem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=False):
    """One finding of a check: what is wrong, where, and what to do."""

    code: str
    message: str
    hint: str | None = None
    file: str | None = None
    line: int | None = None
    plugin: str | None = None
    rule: str | None = None
    severity: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of SPEC §6 (``rule``/``severity`` only when set)."""
        out: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "file": self.file,
            "line": self.line,
        }
        if self.plugin is not None:
            out["plugin"] = self.plugin
        if self.rule is not None:
            out["rule"] = self.rule
            out["severity"] = self.severity
        return out


class WiseflowError(Exception):
    """Root of every wiseflow error.

    Args:
        message: what happened, for a person.
        plugin: the plugin (or file) concerned, if any.
        hint: what to do about it.
        code: overrides the class's default code.
        problems: several findings reported at once (e.g. every invalid manifest field).
    """

    default_code: ClassVar[str] = "WF000"
    default_hint: ClassVar[str | None] = None

    def __init__(
        self,
        message: str,
        *,
        plugin: str | None = None,
        hint: str | None = None,
        code: str | None = None,
        problems: list[Problem] | tuple[Problem, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.plugin = plugin
        self.hint = hint if hint is not None else self.default_hint
        self.code = code or self.default_code
        self.problems: tuple[Problem, ...] = tuple(problems)
        #: The plugin's traceback (its own frames first), when the failure came from
        #: plugin code; see :func:`plugin_traceback`.
        self.traceback: str | None = None

    def __str__(self) -> str:
        where = f" ({self.plugin})" if self.plugin else ""
        return f"{self.code}: {self.message}{where}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.to_dict()))

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of SPEC §6: ``{"code", "message", "plugin", "hint"}``."""
        return {
            "code": self.code,
            "message": self.message,
            "plugin": self.plugin,
            "hint": self.hint,
        }

    def as_problems(self) -> list[Problem]:
        """This error as a list of problems (its own findings, or itself)."""
        if self.problems:
            return list(self.problems)
        return [Problem(code=self.code, message=self.message, hint=self.hint, plugin=self.plugin)]


#: Longest traceback kept (characters): the last frames and the exception line matter most.
TRACEBACK_CHARS = 8000


def plugin_traceback(exc: BaseException) -> str | None:
    """``exc``'s traceback with the host's own frames left out, so the plugin's come first.

    Frames of wiseflow itself (the worker, the runner, the handle) say nothing about the
    plugin's bug; frames of bundled plugins (``wiseflow/plugins/``) are plugin frames.
    """
    import os
    import traceback

    if exc.__traceback__ is None:
        return None
    host = os.path.dirname(os.path.abspath(__file__))
    bundled = os.path.join(host, "plugins") + os.sep
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__)
        if not f.filename.startswith(host + os.sep) or f.filename.startswith(bundled)
    ]  # fmt: skip
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames[-20:])]
    lines += traceback.format_exception_only(type(exc), exc)
    text = "".join(lines)
    return text if len(text) <= TRACEBACK_CHARS else "…" + text[-TRACEBACK_CHARS:]


def _rebuild(cls: type[WiseflowError], data: dict[str, Any]) -> WiseflowError:
    err = cls.__new__(cls)
    WiseflowError.__init__(
        err, data["message"], plugin=data["plugin"], hint=data["hint"], code=data["code"]
    )
    return err


class WiseflowWarning(UserWarning):
    """Base class of wiseflow's warnings (weaker sandbox, soft quota crossed, ...)."""


# -- a plugin call failed ------------------------------------------------------------------


class PluginError(WiseflowError):
    """A plugin raised, or a call into it failed; the policy decides what follows."""

    default_code = "WF400"
    default_hint = (
        "`wiseflow runs show RUN` has the plugin's traceback (file and line); --debug prints it"
    )


class TransientError(PluginError):
    """Raised by a plugin for a failure worth retrying (network blip, 429, 5xx).

    Args:
        message: what failed.
        retry_after: seconds the source asked us to wait, if it said.
    """

    default_code = "WF407"
    default_hint = "retried with backoff as [plugins.NAME] retry allows"

    def __init__(
        self,
        message: str = "transient failure",
        *,
        retry_after: float | None = None,
        plugin: str | None = None,
        hint: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, plugin=plugin, hint=hint, code=code)
        self.retry_after = retry_after


class SkipRecord(PluginError):
    """Raised by a plugin to send one record to the dead-letter table and go on.

    Args:
        record_id: the id of the record to skip.
        reason: why, for the operator.
    """

    default_code = "WF408"
    default_hint = "the record is kept in the dead_letters table"

    def __init__(self, record_id: str, reason: str = "skipped by plugin", **kw: Any) -> None:
        super().__init__(f"record {record_id!r} skipped: {reason}", **kw)
        self.record_id = record_id
        self.reason = reason

    def __reduce__(self) -> tuple[Any, ...]:
        return (SkipRecord, (self.record_id, self.reason))


# -- WF1xx ---------------------------------------------------------------------------------


class DiscoveryError(WiseflowError):
    """A plugin could not be found, read or checked."""

    default_code = "WF100"


class ManifestError(DiscoveryError):
    """``plugin.toml`` is missing or invalid; ``problems`` lists every invalid field."""

    default_code = "WF101"
    default_hint = "fix the listed fields of plugin.toml (`wiseflow plugins new` shows a valid one)"


class EntryNotFound(DiscoveryError):
    """The manifest's ``entry`` names a module or class that does not exist."""

    default_code = "WF102"
    default_hint = 'check `entry = "module:Class"` in plugin.toml'


class InterfaceError(DiscoveryError):
    """The plugin class does not implement its kind's contract."""

    default_code = "WF103"
    default_hint = "subclass exactly one of ConnectorPlugin, ProcessorPlugin, AnalyzerPlugin"


class DuplicatePlugin(DiscoveryError):
    """Two origins offer the same plugin at the same version."""

    default_code = "WF104"
    default_hint = "remove one copy, or choose an origin with `origin = ...` in wiseflow.toml"


class ConfigError(DiscoveryError):
    """A plugin's configuration does not match its ``Config``."""

    default_code = "WF105"
    default_hint = "fix the plugin's config in the pipeline file or wiseflow.toml"


# -- WF2xx ---------------------------------------------------------------------------------


class DependencyError(WiseflowError):
    """Requirements between plugins, or with the host, cannot be met."""

    default_code = "WF200"


class MissingDependency(DependencyError):
    """A required plugin is not installed, or none of its versions is usable."""

    default_code = "WF201"
    default_hint = "install the missing plugin or add its folder to plugin_dirs"


class VersionConflict(DependencyError):
    """The installed versions cannot satisfy every requirement at once."""

    default_code = "WF202"
    default_hint = "install a version that satisfies every requirement, or relax a range"


class DependencyCycle(DependencyError):
    """Plugins require each other in a circle."""

    default_code = "WF203"
    default_hint = "break the cycle: make one of the requirements optional or remove it"


class ApiIncompatible(DependencyError):
    """The manifest's ``api`` range excludes this host's plugin API version."""

    default_code = "WF204"
    default_hint = "use a plugin release built for this wiseflow plugin API"


class PythonIncompatible(DependencyError):
    """The manifest's ``python`` range excludes the running Python."""

    default_code = "WF205"
    default_hint = "run wiseflow on a Python the plugin supports"


# -- WF3xx ---------------------------------------------------------------------------------


class SecurityError(WiseflowError):
    """Refused for security; only the operator can change the outcome."""

    default_code = "WF300"


class PermissionDenied(SecurityError):
    """A plugin used a capability it did not declare or was not granted.

    Args:
        message: what was asked and refused.
        permission: the permission concerned (``network``, ``fs_read``, ``env``, ...).
    """

    default_code = "WF301"

    def __init__(self, message: str, *, permission: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.permission = permission


class AuditRefused(SecurityError):
    """The static audit found something at or above the operator's threshold."""

    default_code = "WF302"


class IntegrityError(SecurityError):
    """A plugin's files do not match their recorded hashes."""

    default_code = "WF303"


class SignatureInvalid(SecurityError):
    """A required signature is missing or does not verify."""

    default_code = "WF304"


class SandboxUnavailable(SecurityError):
    """A confinement layer a sandboxed plugin needs is missing on this machine."""

    default_code = "WF305"
    default_hint = (
        "run `wiseflow doctor`; set `allow_weaker_sandbox = true` under [policy] to run "
        "with the layers that exist"
    )


# -- WF4xx ---------------------------------------------------------------------------------


class RuntimeFailure(WiseflowError):
    """The host stopped or refused a call at run time."""

    default_code = "WF400"


class PluginTimeout(RuntimeFailure):
    """A call took longer than the plugin's ``timeout_s``; its worker was stopped."""

    default_code = "WF401"
    default_hint = "raise resources.timeout_s for the plugin, or find why the call hangs"


class WorkerCrashed(RuntimeFailure):
    """A plugin's worker process died (exit status or signal in the message)."""

    default_code = "WF402"


class QuotaExceeded(RuntimeFailure):
    """A plugin crossed a hard resource limit (named, with the figure reached)."""

    default_code = "WF403"
    default_hint = "raise the plugin's limit under [plugins.NAME.resources] if it is legitimate"


class CircuitOpen(RuntimeFailure):
    """The plugin's circuit breaker is open: calls fail fast until it half-opens."""

    default_code = "WF404"
    default_hint = "the plugin failed repeatedly; it is retried after the breaker's reset time"


class InvalidTransition(RuntimeFailure):
    """A lifecycle transition (or a call) the plugin's state does not allow."""

    default_code = "WF405"


class ProtocolViolation(RuntimeFailure):
    """A worker sent a malformed, oversized or unexpected frame; it was stopped."""

    default_code = "WF406"


# -- WF5xx / WF6xx -------------------------------------------------------------------------


class PipelineError(WiseflowError):
    """The pipeline file is invalid (field and line in the problems)."""

    default_code = "WF501"
    default_hint = "fix the pipeline file at the field named"


class StoreError(WiseflowError):
    """The SQLite store could not be opened, migrated or written."""

    default_code = "WF502"


class RepositoryError(WiseflowError):
    """A plugin repository (index) operation failed."""

    default_code = "WF600"


_CLASSES: dict[str, type[WiseflowError]] = {}
for _cls in list(globals().values()):
    if isinstance(_cls, type) and issubclass(_cls, WiseflowError):
        _CLASSES.setdefault(_cls.default_code, _cls)
_CLASSES["WF400"] = PluginError


def error_from_dict(data: dict[str, Any]) -> WiseflowError:
    """Rebuild an error sent as ``{"code", "message", "plugin", "hint"}`` (never unpickled)."""
    code = str(data.get("code") or "WF400")
    cls = _CLASSES.get(code, WiseflowError)
    message = str(data.get("message") or "")
    plugin = data.get("plugin")
    plugin = plugin if plugin is None or isinstance(plugin, str) else str(plugin)
    hint = data.get("hint")
    hint = hint if hint is None or isinstance(hint, str) else str(hint)
    if cls is SkipRecord:
        return SkipRecord(
            str(data.get("record_id") or ""),
            str(data.get("reason") or message),
            plugin=plugin,
            hint=hint,
        )
    err = cls.__new__(cls)
    WiseflowError.__init__(err, message, plugin=plugin, hint=hint, code=code)
    tb = data.get("traceback")
    if isinstance(tb, str) and tb:
        err.traceback = tb[-TRACEBACK_CHARS:]
    rows = data.get("problems")
    if isinstance(rows, list):
        try:
            err.problems = tuple(msgspec.convert(r, type=Problem) for r in rows[:50])
        except msgspec.ValidationError:
            pass  # malformed findings are dropped; the message stands
    if cls is TransientError:
        err.retry_after = _float_or_none(data.get("retry_after"))  # type: ignore[attr-defined]
    if cls is PermissionDenied:
        permission = data.get("permission")
        err.permission = permission if isinstance(permission, str) else None  # type: ignore[attr-defined]
    return err


def _float_or_none(value: Any) -> float | None:
    """A number sent over the wire, or None when it is not one (never an exception)."""
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def exit_code_for(code: str) -> int:
    """The process exit code of SPEC §6 for an error code.

    2 bad input (WF1xx, WF2xx, WF501, WF602), 3 refused for security (WF3xx, WF603),
    1 a run completed with failures (WF4xx, WF601), 4 internal (WF502 store, other).
    """
    if code == "WF502":
        return 4
    if code.startswith(("WF1", "WF2", "WF5")) or code == "WF602":
        return 2
    if code.startswith("WF3") or code == "WF603":
        return 3
    if code.startswith("WF4") or code == "WF601":
        return 1
    return 4
