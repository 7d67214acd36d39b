"""Driving `wiseflow` as an operator does, for attacks that go through the whole host.

A project is a folder with ``wiseflow.toml``, plugin folders under ``plugins/`` and a
pipeline file; :func:`wf` runs the real CLI in a fresh interpreter and keeps its output as
bytes, so that a test can look for raw control bytes a terminal would act on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

#: Bytes and characters a terminal acts on: none may reach it from plugin text.
TERMINAL_CONTROLS = (
    b"\x1b",  # ESC: CSI, OSC (title, clipboard), DCS ...
    b"\x07",  # BEL (ends OSC)
    b"\x9b",  # 8-bit CSI (raw byte)
    "\x9b".encode(),  # 8-bit CSI (UTF-8)
    "\x9d".encode(),  # 8-bit OSC (UTF-8)
    "\u202e".encode(),  # right-to-left override
    "\u2066".encode(),  # left-to-right isolate
    b"\r",
)


def project(
    root: Path,
    plugins: dict[str, tuple[str, str]],
    pipeline: str,
    *,
    level: str = "sandboxed",
    toml_extra: str = "",
    manifest_extra: dict[str, str] | None = None,
) -> Path:
    """``root`` as a project: wiseflow.toml, ``plugins/NAME`` folders, ``p.toml``."""
    (root / "wiseflow.toml").write_text(
        f'[wiseflow]\nplugin_dirs = ["plugins"]\n[policy]\nlevel = "{level}"\n{toml_extra}'
    )
    for name, (kind, code) in plugins.items():
        folder = root / "plugins" / name
        folder.mkdir(parents=True, exist_ok=True)
        extra = (manifest_extra or {}).get(name, "")
        (folder / "plugin.toml").write_text(
            f'[plugin]\nname = "{name}"\nversion = "1.0.0"\nkind = "{kind}"\n'
            f'entry = "plugin:P"\n{extra}'
        )
        (folder / "plugin.py").write_text(textwrap.dedent(code))
    (root / "p.toml").write_text(textwrap.dedent(pipeline))
    return root


def wf(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run the CLI in ``cwd``; output kept as bytes."""
    return subprocess.run(
        [sys.executable, "-m", "wiseflow", *args],
        cwd=cwd,
        capture_output=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        check=False,
    )


def document(res: subprocess.CompletedProcess[bytes]) -> dict[str, Any]:
    """The one JSON document a ``--json`` run printed."""
    doc = json.loads(res.stdout)
    assert isinstance(doc, dict)
    return doc


def log_lines(root: Path) -> list[dict[str, Any]]:
    """The JSON lines of ``<data_dir>/logs/wiseflow.log``."""
    path = root / ".wiseflow" / "logs" / "wiseflow.log"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def raw_controls(data: bytes) -> list[bytes]:
    """Which :data:`TERMINAL_CONTROLS` occur in ``data``."""
    return [c for c in TERMINAL_CONTROLS if c in data]


SOURCE = """\
from wiseflow import ConnectorPlugin, Record

class P(ConnectorPlugin):
    def fetch(self, state):
        for i in range(3):
            yield Record(id=f"r{i}", source=self.ctx.name, title=f"t{i}")
"""

PIPELINE = """\
[pipeline]
name = "t"
[[sources]]
plugin = "innocent"
[[processors]]
plugin = "attacker"
"""
