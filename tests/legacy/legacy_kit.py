"""Plugins written for the original WiseFlow API (LEGACY-API.md), as their authors wrote them.

Each is a folder holding one module that imports ``core.plugins``; none has a plugin.toml
until ``wiseflow plugins migrate`` writes it. ``text_cleaner`` has a side effect at import
(it appends to a marker file in the current folder), so a test can tell whether it was
ever imported in the host: a worker's current folder is its data dir.
"""

from __future__ import annotations

from pathlib import Path

MARKER = "legacy-imported-text-cleaner"

HEADLINES = """\
from core.plugins import ConnectorPlugin, PluginMetadata, PluginSecurityLevel


class HeadlinesConnector(ConnectorPlugin):
    name = "headlines_connector"
    version = "1.0.0"
    description = "Headlines about a configured topic"

    def __init__(self, config=None):
        super().__init__(config)
        self.metadata = PluginMetadata(
            name=self.name,
            version=self.version,
            description=self.description,
            author="news desk",
            min_system_version="0.9.0",
            dependencies={"text_cleaner": ">=1.0.0"},
            security_level=PluginSecurityLevel.MEDIUM,
        )
        self.connected = False

    def initialize(self):
        return bool(self.config.get("topic"))

    def connect(self):
        self.connected = True
        return True

    def fetch_data(self, query, **kwargs):
        if not self.connected:
            raise RuntimeError("fetch_data before connect")
        topic = self.config["topic"]
        items = []
        for i in range(int(self.config.get("count", 3))):
            items.append({
                "id": i,
                "title": f"{topic} {query} {i}",
                "content": f"news   about {topic} number {i}",
                "url": f"https://example.org/{i}",
                "author": "desk",
                "published": f"2024-01-0{i + 1}T10:00:00Z",
                "section": "world",
            })
        items.append({"url": "https://example.org/by-url", "content": "drop me please"})
        return {"data": items, "metadata": {"total": len(items)}}

    def disconnect(self):
        self.connected = False
        return True
"""

TEXT_CLEANER = f'''\
from core.plugins import ProcessorPlugin

with open("{MARKER}", "a") as marker:  # a side effect at import time
    marker.write("imported\\n")


class TextCleaner(ProcessorPlugin):
    name = "text_cleaner"
    version = "1.1.0"
    description = "Collapses whitespace and upper-cases content"

    def process(self, data, **kwargs):
        text = data.get("content") or ""
        if "drop me" in text:
            return None
        return {{**data, "content": " ".join(text.split()).upper(), "cleaned": True}}
'''

TITLE_STATS = """\
from core.plugins import AnalyzerPlugin
from core.plugins.base import PluginBase


class TitleStats(AnalyzerPlugin):
    name = "title_stats"
    version = "2.0"

    def initialize(self):
        assert isinstance(self, PluginBase)
        return True

    async def analyze(self, data, **kwargs):
        return {
            "count": len(data),
            "sections": sorted({d.get("section") for d in data}),
            "all_cleaned": all(d.get("cleaned") for d in data),
            "ids": sorted(d["id"] for d in data),
        }
"""

NOT_READY = """\
from core.plugins import ConnectorPlugin


class NotReady(ConnectorPlugin):
    name = "not_ready"
    version = "0.1.0"

    def initialize(self):
        return False

    def fetch_data(self, query, **kwargs):
        return {"data": [{"id": "never"}]}
"""

PLUGINS = {
    "headlines": {"headlines_connector.py": HEADLINES},
    "cleaner": {"text_cleaner.py": TEXT_CLEANER},
    "stats": {"title_stats.py": TITLE_STATS},
    "notready": {"not_ready.py": NOT_READY},
}


def write_plugins(root: Path, plugins: dict[str, dict[str, str]] | None = None) -> Path:
    """The legacy plugins as folders under ``root/plugins`` (no plugin.toml)."""
    base = root / "plugins"
    for folder, files in (plugins or PLUGINS).items():
        (base / folder).mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (base / folder / name).write_text(text)
    return base
