"""The public surface of ``wiseflow`` is exactly the documented one."""

from __future__ import annotations

import wiseflow

DOCUMENTED = {
    # SPEC §2: the plugin author API
    "Record",
    "Checkpoint",
    "BasePlugin",
    "ConnectorPlugin",
    "ProcessorPlugin",
    "AnalyzerPlugin",
    "PluginContext",
    "Figure",
    "non_idempotent",
    "HttpResponse",
    "Manifest",
    "load_manifest",
    "Problem",
    "PLUGIN_API_VERSION",
    "__version__",
    # SPEC §7: errors
    "WiseflowError",
    "WiseflowWarning",
    "PluginError",
    "TransientError",
    "SkipRecord",
    "DiscoveryError",
    "ManifestError",
    "EntryNotFound",
    "InterfaceError",
    "DuplicatePlugin",
    "ConfigError",
    "DependencyError",
    "MissingDependency",
    "VersionConflict",
    "DependencyCycle",
    "ApiIncompatible",
    "PythonIncompatible",
    "SecurityError",
    "PermissionDenied",
    "AuditRefused",
    "IntegrityError",
    "SignatureInvalid",
    "SandboxUnavailable",
    "RuntimeFailure",
    "PluginTimeout",
    "WorkerCrashed",
    "QuotaExceeded",
    "CircuitOpen",
    "InvalidTransition",
    "ProtocolViolation",
    "PipelineError",
    "StoreError",
    "RepositoryError",
    # the host, for embedding
    "PluginManager",
    "PluginHandle",
    "PluginState",
    "PluginEvent",
    "EventBus",
    "OperatorConfig",
    "load_operator_config",
}


def test_all_is_exactly_the_documented_api() -> None:
    """Nothing public appears or disappears without updating the documented list."""
    assert set(wiseflow.__all__) == DOCUMENTED
    assert len(wiseflow.__all__) == len(set(wiseflow.__all__))


def test_every_exported_name_exists() -> None:
    """Every name in ``__all__`` is importable from ``wiseflow``."""
    for name in wiseflow.__all__:
        assert hasattr(wiseflow, name), name


def test_public_classes_report_the_package_as_module() -> None:
    """Public classes say ``wiseflow``, not a private module, in reprs and docs."""
    for name in wiseflow.__all__:
        obj = getattr(wiseflow, name)
        if isinstance(obj, type):
            assert obj.__module__ == "wiseflow", name
