"""The error classes below the root, grouped by what the caller should do (WF1xx-WF6xx)."""

from __future__ import annotations

from typing import Any

from ._base import WiseflowError

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
    "WorkerCrashed",
]


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
    #: The tightest of three settings applies (SPEC §11): name them all, not just one.
    default_hint = (
        "the limit is the tightest of the manifest's timeout_s, [plugins.NAME] "
        "resources.timeout_s and [policy] max_timeout_s (default 600): raise the one that "
        "binds, or find why the call hangs"
    )


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
