"""wiseflow: a secure, fast plugin system for information pipelines.

Plugin authors need only what this module exports; everything else is internal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._contract._context import HttpResponse, PluginContext
from ._contract._errors import (
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
from ._contract._manifest import Manifest, load_manifest
from ._contract._plugin import (
    AnalyzerPlugin,
    BasePlugin,
    ConnectorPlugin,
    Figure,
    ProcessorPlugin,
    non_idempotent,
)
from ._contract._record import Checkpoint, Record
from ._contract._toolkit import (
    ApiClient,
    CursorPagination,
    HttpError,
    LinkPagination,
    Page,
    PageNumberPagination,
    Pages,
    Pagination,
    parse_link_header,
)
from ._contract._version import PLUGIN_API_VERSION, __version__

__all__ = [
    "PLUGIN_API_VERSION",
    "AnalyzerPlugin",
    "ApiClient",
    "ApiIncompatible",
    "AuditRefused",
    "BasePlugin",
    "Checkpoint",
    "CircuitOpen",
    "ConfigError",
    "ConnectorPlugin",
    "CursorPagination",
    "DependencyCycle",
    "DependencyError",
    "DiscoveryError",
    "DuplicatePlugin",
    "EntryNotFound",
    "Figure",
    "HttpError",
    "HttpResponse",
    "IntegrityError",
    "InterfaceError",
    "InvalidTransition",
    "LinkPagination",
    "Manifest",
    "ManifestError",
    "MissingDependency",
    "Page",
    "PageNumberPagination",
    "Pages",
    "Pagination",
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
    "non_idempotent",
    "parse_link_header",
]

# The host's names (for embedding wiseflow: `run_pipeline`, the manager) load on first use
# and stay out of ``__all__``: plugin code and sandbox workers importing the contract (even
# with ``import *``) never pay for, or reach, the manager.
HOST_API = (
    "EventBus",
    "OperatorConfig",
    "Pipeline",
    "PluginEvent",
    "PluginHandle",
    "PluginManager",
    "PluginState",
    "RunResult",
    "Watch",
    "load_operator_config",
    "load_pipeline",
    "parse_pipeline",
    "run_pipeline",
)
_LAZY = {
    "EventBus": "._host._lifecycle",
    "PluginEvent": "._host._lifecycle",
    "PluginState": "._host._lifecycle",
    "PluginHandle": "._host._handle",
    "PluginManager": "._host._manager",
    "OperatorConfig": "._policy._operator",
    "load_operator_config": "._policy._operator",
    "Pipeline": "._pipeline._model",
    "load_pipeline": "._pipeline._model",
    "parse_pipeline": "._pipeline._model",
    "RunResult": "._run._run",
    "run_pipeline": "._run._run",
    "Watch": "._run._watch",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wiseflow' has no attribute {name!r}")
    import importlib

    obj = getattr(importlib.import_module(module, __name__), name)
    if isinstance(obj, type):
        obj.__module__ = "wiseflow"
    globals()[name] = obj
    return obj


if TYPE_CHECKING:  # explicit re-exports for type checkers (the names load lazily at run time)
    from ._host._handle import PluginHandle as PluginHandle
    from ._host._lifecycle import EventBus as EventBus
    from ._host._lifecycle import PluginEvent as PluginEvent
    from ._host._lifecycle import PluginState as PluginState
    from ._host._manager import PluginManager as PluginManager
    from ._pipeline._model import Pipeline as Pipeline
    from ._pipeline._model import load_pipeline as load_pipeline
    from ._pipeline._model import parse_pipeline as parse_pipeline
    from ._policy._operator import OperatorConfig as OperatorConfig
    from ._policy._operator import load_operator_config as load_operator_config
    from ._run._run import RunResult as RunResult
    from ._run._run import run_pipeline as run_pipeline
    from ._run._watch import Watch as Watch

for _name in __all__:
    if _name in _LAZY:
        continue
    _obj = globals()[_name]
    if isinstance(_obj, type):
        _obj.__module__ = "wiseflow"
del _name, _obj
