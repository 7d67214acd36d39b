"""wiseflow: a secure, fast plugin system for information pipelines.

Plugin authors need only what this module exports; everything else is internal.
"""

from __future__ import annotations

from ._context import HttpResponse, PluginContext
from ._errors import (
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
    Problem,
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
    WiseflowError,
    WiseflowWarning,
    WorkerCrashed,
)
from ._manifest import Manifest, load_manifest
from ._plugin import AnalyzerPlugin, BasePlugin, ConnectorPlugin, Figure, ProcessorPlugin
from ._record import Checkpoint, Record
from ._version import PLUGIN_API_VERSION, __version__

__all__ = [
    "PLUGIN_API_VERSION",
    "AnalyzerPlugin",
    "ApiIncompatible",
    "AuditRefused",
    "BasePlugin",
    "Checkpoint",
    "CircuitOpen",
    "ConfigError",
    "ConnectorPlugin",
    "DependencyCycle",
    "DependencyError",
    "DiscoveryError",
    "DuplicatePlugin",
    "EntryNotFound",
    "Figure",
    "HttpResponse",
    "IntegrityError",
    "InterfaceError",
    "InvalidTransition",
    "Manifest",
    "ManifestError",
    "MissingDependency",
    "PermissionDenied",
    "PipelineError",
    "PluginContext",
    "PluginError",
    "PluginTimeout",
    "Problem",
    "ProcessorPlugin",
    "ProtocolViolation",
    "PythonIncompatible",
    "QuotaExceeded",
    "Record",
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
    "__version__",
    "load_manifest",
]

for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        _obj.__module__ = "wiseflow"
del _name, _obj
