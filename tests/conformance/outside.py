"""A user's project in a scratch folder, and what every CLI answer must look like (SPEC §6)."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path
from typing import Any

from wf_cli import wf

COUNTER = """\
    from typing import Annotated

    import msgspec
    from wiseflow import Checkpoint, ConnectorPlugin, Record


    class Counter(ConnectorPlugin):
        class Config(msgspec.Struct, frozen=True):
            count: Annotated[int, msgspec.Meta(description="records per run")] = 2

        def fetch(self, state):
            for i in range(self.ctx.config.count):
                yield Record(id=str(i), source=self.ctx.name)
            yield Checkpoint(state={"done": True})
"""


def plugin(root: Path, name: str, manifest: str, code: str = COUNTER) -> Path:
    """``root/name`` holding ``plugin.toml`` (``manifest``) and ``plugin.py`` (``code``)."""
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "plugin.toml").write_text(textwrap.dedent(manifest))
    (folder / "plugin.py").write_text(textwrap.dedent(code))
    return folder


def project(root: Path, wiseflow_toml: str = "", *, sources: str = "counter") -> Path:
    """A project folder: wiseflow.toml (plugin_dirs = plugins) and ``p.toml``."""
    (root / "wiseflow.toml").write_text(
        '[wiseflow]\nplugin_dirs = ["plugins"]\n' + textwrap.dedent(wiseflow_toml)
    )
    (root / "p.toml").write_text(f'[pipeline]\nname = "p"\n\n[[sources]]\nplugin = "{sources}"\n')
    return root


def failure(done: subprocess.CompletedProcess[str], code: str, exit_code: int) -> dict[str, Any]:
    """A --json failure: exit code, one JSON document `{"error": {...}}`, no traceback."""
    assert done.returncode == exit_code, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    doc = json.loads(done.stdout)  # exactly one document: anything else fails to parse
    error = doc["error"]
    assert error["code"] == code, error
    assert error["hint"], error
    return dict(error)


def text_failure(done: subprocess.CompletedProcess[str], code: str, exit_code: int) -> str:
    """A human failure: `error WFxxx: ...` then a hint line on stderr, no traceback."""
    assert done.returncode == exit_code, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert any(line.startswith(f"error {code}: ") for line in lines), done.stderr
    assert any(line.strip().startswith("hint: ") for line in lines), done.stderr
    return done.stderr


__all__ = ["COUNTER", "failure", "plugin", "project", "text_failure", "wf"]
