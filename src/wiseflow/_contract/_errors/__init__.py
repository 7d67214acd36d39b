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

The classes live in ``_base`` (the root, :class:`Problem`), ``_tree`` (everything below
the root) and ``_wire`` (rebuilding an error sent between processes; exit codes); import
them from here.
"""

from ._base import TRACEBACK_CHARS, Problem, WiseflowError, WiseflowWarning, plugin_traceback
from ._tree import (
    ApiIncompatible,
    AuditRefused,
    CircuitOpen,
    ConfigError,
    DependencyCycle,
    DependencyError,
    DiscoveryError,
    DuplicatePlugin,
    EntryNotFound,
    IntegrityError,
    InterfaceError,
    InvalidTransition,
    ManifestError,
    MissingDependency,
    PermissionDenied,
    PipelineError,
    PluginError,
    PluginTimeout,
    ProtocolViolation,
    PythonIncompatible,
    QuotaExceeded,
    RepositoryError,
    RuntimeFailure,
    SandboxUnavailable,
    SecurityError,
    SignatureInvalid,
    SkipRecord,
    StoreError,
    TransientError,
    VersionConflict,
    WorkerCrashed,
)
from ._wire import error_from_dict, exit_code_for

__all__ = [
    "TRACEBACK_CHARS",
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
    "plugin_traceback",
]
