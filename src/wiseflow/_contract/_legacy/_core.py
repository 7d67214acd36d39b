"""The names original-API plugins import from ``core.plugins`` (see LEGACY-API.md).

A small, faithful stand-in for the original ``core/plugins`` package: the base classes
(``BasePlugin``, also spelled ``PluginBase``, and one per kind), ``PluginState``,
``PluginMetadata`` and ``PluginSecurityLevel``. It holds no machinery of its own: the
adapter (``_adapter``) drives these objects under wiseflow's lifecycle. Legacy code sees
it as ``core.plugins`` and ``core.plugins.base`` (``_compat``), inside the process that
runs the plugin only.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AnalyzerPlugin",
    "BasePlugin",
    "ConnectorPlugin",
    "PluginBase",
    "PluginMetadata",
    "PluginSecurityLevel",
    "PluginState",
    "ProcessorPlugin",
]


class PluginState(enum.Enum):
    """The original lifecycle states (informative: wiseflow keeps its own)."""

    UNLOADED = "unloaded"
    LOADED = "loaded"
    INITIALIZED = "initialized"
    ACTIVE = "active"
    DISABLED = "disabled"
    ERROR = "error"
    UNINSTALLED = "uninstalled"


class PluginSecurityLevel(enum.Enum):
    """The original security levels (informative: wiseflow's levels decide)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass
class PluginMetadata:
    """What an original plugin said about itself; ``dependencies`` name other plugins."""

    name: str = ""
    version: str = "0.0.0"
    description: str = ""
    author: str = ""
    website: str = ""
    license: str = ""
    min_system_version: str = ""
    max_system_version: str = ""
    dependencies: dict[str, str] = field(default_factory=dict)
    security_level: PluginSecurityLevel = PluginSecurityLevel.MEDIUM


class BasePlugin:
    """The original common base: ``name``, ``version``, ``description`` and ``config``.

    Subclass a kind (``ConnectorPlugin``, ``ProcessorPlugin``, ``AnalyzerPlugin``) and
    override ``initialize`` and the kind's methods, as the original API documents.
    """

    name: str = "base_plugin"
    version: str = "0.0.0"
    description: str = ""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config: dict[str, Any] = config or {}
        self.is_enabled = True
        self.state = PluginState.LOADED
        self.metadata: PluginMetadata | None = getattr(self, "metadata", None)

    def initialize(self) -> bool:
        return True

    def shutdown(self) -> bool:
        return True

    def validate_config(self) -> bool:
        return True

    def enable(self) -> None:
        self.is_enabled = True

    def disable(self) -> None:
        self.is_enabled = False

    def get_config(self) -> dict[str, Any]:
        return self.config

    def set_config(self, config: dict[str, Any]) -> None:
        self.config = config


PluginBase = BasePlugin


class ConnectorPlugin(BasePlugin):
    """Original connector: ``connect``, ``fetch_data(query, **kwargs)``, ``disconnect``."""

    def connect(self) -> bool:
        return True

    def fetch_data(self, query: str, **kwargs: Any) -> Any:
        raise NotImplementedError("fetch_data() is not implemented")

    def disconnect(self) -> bool:
        return True


class ProcessorPlugin(BasePlugin):
    """Original processor: ``process(data, **kwargs)``."""

    def process(self, data: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("process() is not implemented")


class AnalyzerPlugin(BasePlugin):
    """Original analyzer: ``analyze(data, **kwargs)`` returning a dict of findings."""

    def analyze(self, data: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("analyze() is not implemented")


#: The kind each original base stands for.
KIND_OF: dict[type[BasePlugin], str] = {
    ConnectorPlugin: "connector",
    ProcessorPlugin: "processor",
    AnalyzerPlugin: "analyzer",
}
