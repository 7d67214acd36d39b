"""``wiseflow plugins new``: a plugin folder that passes ``wiseflow plugins check``."""

from __future__ import annotations

from pathlib import Path

from .._errors import PipelineError, WiseflowError
from .._manifest import NAME_RE

__all__ = ["scaffold"]

_BODIES = {
    "connector": (
        "ConnectorPlugin",
        '''    def fetch(self, state: dict[str, Any] | None) -> Iterator[Record | Checkpoint]:
        """Yield records; yield a Checkpoint when everything before it is delivered."""
        done = int((state or {}).get("done", 0))
        for i in range(done, done + self.ctx.config.count):
            yield Record(id=str(i), source=self.ctx.name, title=f"item {i}")
        yield Checkpoint(state={"done": done + self.ctx.config.count})
''',
    ),
    "processor": (
        "ProcessorPlugin",
        '''    def process(self, batch: list[Record]) -> list[Record]:
        """Return the batch, changed as this plugin sees fit."""
        return [r.annotate(self.ctx.name, {"seen": True}) for r in batch]
''',
    ),
    "analyzer": (
        "AnalyzerPlugin",
        '''    def initialize(self, ctx: PluginContext) -> None:
        super().initialize(ctx)
        self.count = 0

    def analyze(self, batch: list[Record]) -> None:
        """Take in one batch."""
        self.count += len(batch)

    def result(self) -> dict[str, Any]:
        """A JSON-compatible summary."""
        return {"records": self.count}
''',
    ),
}


_IMPORTS = {
    "connector": "from collections.abc import Iterator\nfrom typing import Any\n\n"
    "import msgspec\n\nfrom wiseflow import Checkpoint, {base}, Record",
    "processor": "import msgspec\n\nfrom wiseflow import {base}, Record",
    "analyzer": "from typing import Any\n\nimport msgspec\n\n"
    "from wiseflow import {base}, PluginContext, Record",
}


def scaffold(name: str, kind: str, parent: Path) -> Path:
    """Create ``parent/name`` with plugin.toml, plugin.py and test_plugin.py."""
    if not NAME_RE.match(name):
        raise WiseflowError(
            f"{name!r} is not a valid plugin name",
            code="WF101",
            hint="use lower-case letters, digits and dashes, starting with a letter",
        )
    if kind not in _BODIES:
        raise PipelineError(
            f"unknown kind {kind!r}", code="WF101", hint="use connector, processor or analyzer"
        )
    folder = parent / name
    if folder.exists():
        raise WiseflowError(
            f"{folder} already exists", code="WF101", hint="choose another name or --dir"
        )
    base, body = _BODIES[kind]
    imports = _IMPORTS[kind].format(base=base)
    cls = "".join(part.capitalize() for part in name.split("-")) + base.replace("Plugin", "")
    folder.mkdir(parents=True)
    (folder / "plugin.toml").write_text(
        f'''[plugin]
name = "{name}"
version = "0.1.0"
kind = "{kind}"
entry = "plugin:{cls}"
api = ">=1,<2"
description = "TODO: one line saying what {name} does"

[plugin.permissions]
network = []
env = []
fs_read = []
fs_write = []
subprocess = false

[plugin.resources]
memory_mb = 256
cpu_seconds = 60
timeout_s = 30
max_open_files = 64
''',
        encoding="utf-8",
    )
    (folder / "plugin.py").write_text(
        f'''"""{name}: a wiseflow {kind}."""

from __future__ import annotations

{imports}


class {cls}({base}):
    """TODO: what this plugin does."""

    class Config(msgspec.Struct, frozen=True):
        count: int = 3

{body}''',
        encoding="utf-8",
    )
    (folder / "test_plugin.py").write_text(
        f'''"""Tests for {name}, with wiseflow's testing kit."""

from wiseflow.testing import run_plugin

from plugin import {cls}


def test_runs() -> None:
    """The plugin loads, initializes and answers through the host."""
    result = run_plugin({cls})
    assert result.state == "ACTIVE"
''',
        encoding="utf-8",
    )
    return folder
