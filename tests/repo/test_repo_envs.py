"""Issue 13's second acceptance: two plugins from the repository that need conflicting
versions of one library are installed (each with an environment of its own, built from a
local folder of wheels) and run in one sandboxed pipeline, each seeing its own version."""

from __future__ import annotations

import importlib.util
import sqlite3
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "envs"))

from repo_kit import Project, make_wheel, snapshot  # noqa: E402
from wheel_kit import demo_wheels  # noqa: E402

OLD = """\
import wfdemolib
from wiseflow import ConnectorPlugin, Record


class Source(ConnectorPlugin):
    def fetch(self, state):
        for i in range(2):
            yield Record(id=str(i), source=self.ctx.name, title=wfdemolib.__version__)
"""
NEW = """\
import wfdemolib
from wiseflow import ProcessorPlugin


class Proc(ProcessorPlugin):
    def process(self, batch):
        return [r.replace(text=wfdemolib.__version__) for r in batch]
"""
PIPELINE = """\
[pipeline]
name = "two-versions"

[[sources]]
plugin = "oldlib"

[[processors]]
plugin = "newlib"
"""


@pytest.fixture(autouse=True)
def _own_uv_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))


def test_conflicting_library_versions_each_in_its_own_environment(
    project: Project, tmp_path: Path
) -> None:
    """oldlib (wfdemolib<2) and newlib (wfdemolib>=2) install from the repository and run
    in one pipeline: records carry 1.0 from the source and 2.0 from the processor."""
    assert importlib.util.find_spec("wfdemolib") is None  # the host has neither version
    libs = demo_wheels(tmp_path / "pywheels")
    plugins = tmp_path / "plugin-wheels"
    make_wheel(plugins, "oldlib", "1.0.0", code=OLD, requires_dist=("wfdemolib<2",))
    make_wheel(plugins, "newlib", "1.0.0", kind="processor", code=NEW,
               requires_dist=("wfdemolib>=2",))  # fmt: skip
    served = str(project.served)
    project.publisher("add", served, *map(str, sorted(plugins.glob("*.whl"))))
    project.publisher("publish", served)

    before = snapshot(project.folder)  # control: without a package source nothing installs
    code, out, err = project.wf("plugins", "install", "oldlib")
    assert code == 2 and "wfdemolib" in err, err
    assert snapshot(project.folder) == before

    config = project.folder / "wiseflow.toml"
    config.write_text(config.read_text() + f'find_links = ["{libs}"]\n')
    for name in ("oldlib", "newlib"):
        code, out, err = project.wf("plugins", "install", name)
        assert code == 0, err
    lock = (project.folder / "wiseflow.lock").read_text()
    assert '"wfdemolib==1.0"' in lock and '"wfdemolib==2.0"' in lock
    assert len(list((project.folder / "state" / "envs").iterdir())) == 2

    (project.folder / "p.toml").write_text(PIPELINE)
    code, out, err = project.wf("run", "p.toml")
    assert code == 0, out + err
    with sqlite3.connect(project.folder / "state" / "wiseflow.db") as db:
        rows = db.execute("SELECT title, text FROM records ORDER BY id").fetchall()
    assert rows == [("1.0", "2.0")] * 2

    code, out, err = project.wf("plugins", "remove", "oldlib")
    assert code == 0, err
    assert len(list((project.folder / "state" / "envs").iterdir())) == 1  # its env went too
