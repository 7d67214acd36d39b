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
    # the connector toolkit (HTTP plumbing over ctx.http)
    "ApiClient",
    "HttpError",
    "Page",
    "Pages",
    "Pagination",
    "LinkPagination",
    "CursorPagination",
    "PageNumberPagination",
    "parse_link_header",
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
}

# The host, for embedding: importable from wiseflow, loaded lazily, not in __all__ (so a
# plugin's `from wiseflow import *` never drags the manager into a sandbox worker).
HOST = {
    "PluginManager",
    "PluginHandle",
    "PluginState",
    "PluginEvent",
    "EventBus",
    "OperatorConfig",
    "load_operator_config",
    # SPEC §12: running a pipeline from Python
    "run_pipeline",
    "RunResult",
    "Watch",  # run_pipeline(watch=...): `wiseflow run --watch`
    "Pipeline",
    "load_pipeline",
    "parse_pipeline",
}


def test_all_is_exactly_the_documented_api() -> None:
    """Nothing public appears or disappears without updating the documented list."""
    assert set(wiseflow.__all__) == DOCUMENTED
    assert len(wiseflow.__all__) == len(set(wiseflow.__all__))


def test_every_exported_name_exists() -> None:
    """Every name in ``__all__`` and every host name is importable from ``wiseflow``."""
    for name in [*wiseflow.__all__, *HOST]:
        assert hasattr(wiseflow, name), name
    assert set(wiseflow.HOST_API) == HOST


def test_star_import_gives_the_plugin_api_without_the_host() -> None:
    """`from wiseflow import *` in plugin code loads the contract only."""
    import subprocess
    import sys

    code = (
        "import sys\nfrom wiseflow import *\n"
        "print(sorted(m for m in sys.modules if m.startswith('wiseflow.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "wiseflow._host._manager" not in out.stdout and "psutil" not in out.stdout


def test_public_classes_report_the_package_as_module() -> None:
    """Public classes say ``wiseflow``, not a private module, in reprs and docs."""
    for name in [*wiseflow.__all__, *HOST]:
        obj = getattr(wiseflow, name)
        if isinstance(obj, type):
            assert obj.__module__ == "wiseflow", name
