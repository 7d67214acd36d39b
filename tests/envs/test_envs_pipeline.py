"""Two plugins needing conflicting versions of one library run in one sandboxed pipeline.

``oldlib`` (a source) imports ``wfdemolib`` 1.0, ``newlib`` (a processor) imports 2.0;
the host has neither. Each gets an environment of its own, built offline from a folder
of wheels made by the test, recorded in ``wiseflow.lock`` — and each worker sees its own
version (the records say which). Everything goes through the real CLI.
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hostile"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sandbox"))

from identity_kit import Project  # noqa: E402
from sandbox_kit import require_layers  # noqa: E402
from wheel_kit import make_wheel  # noqa: E402

from wiseflow._envs import EnvSources, build_env, remove_env, resolve_env  # noqa: E402
from wiseflow._policy._envlock import attach  # noqa: E402

OLD = """\
import click
import wfdemolib

class P(ConnectorPlugin):
    def fetch(self, state):
        for i in range(3):
            yield Record(id=str(i), source=self.ctx.name, title=wfdemolib.__version__,
                         url=f"click {click.__version__}")
"""
NEW = """\
import wfdemolib

class P(ProcessorPlugin):
    def process(self, batch):
        return [r.replace(text=wfdemolib.__version__) for r in batch]
"""
PTH = """\
import wfpthmod
import wfdemolib

class P(ProcessorPlugin):
    def process(self, batch):
        return [r.replace(text=f"{wfdemolib.__version__} {wfpthmod.WHERE}") for r in batch]
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
def _sandbox() -> None:
    require_layers("rlimits", "netns", "landlock", "seccomp")


def test_two_plugins_each_see_their_own_version_of_one_library(
    tmp_path: Path, sources: EnvSources
) -> None:
    """Records carry 1.0 (from the source's env) and 2.0 (from the processor's env).

    The source's env also has a ``click`` 0.0.1 of the test's making: the host has a real
    click installed, and the worker sees the env's (its env comes first on the path).
    """
    assert importlib.util.find_spec("wfdemolib") is None  # the host has neither version
    assert importlib.util.find_spec("click") is not None
    make_wheel(Path(sources.find_links[0]), "click", "0.0.1")
    # a package that is importable only through a .pth file of its wheel (read as site does)
    pth = {"wfpthlib.pth": "wfpthlib_extra\n", "wfpthlib_extra/wfpthmod.py": "WHERE = 'pth'\n"}
    make_wheel(Path(sources.find_links[0]), "wfpthlib", "1.0", files=pth)
    project = Project(tmp_path / "proj")
    project.plugin("oldlib", name="oldlib", code=OLD)
    project.plugin("newlib", name="newlib", kind="processor", code=PTH)
    project.pipeline(PIPELINE)
    for name in ("oldlib", "newlib"):
        res = project.wf("plugins", "grant", name, "--all")
        assert res.returncode == 0, res.stderr
    # positive control: without their environments neither can import the library
    res, doc = project.run()
    assert res.returncode != 0 and "wfdemolib" in res.stdout + res.stderr
    lock = project.root / "wiseflow.lock"
    said: list[str] = []
    for name, want in (
        ("oldlib", ["wfdemolib<2", "click==0.0.1"]),
        ("newlib", ["wfdemolib>=2", "wfpthlib"]),
    ):
        env = resolve_env(want, sources, progress=said.append)
        build_env(env, project.state, sources, progress=said.append)
        attach(lock, name, env)
    assert len(list((project.state / "envs").iterdir())) == 2
    res, doc = project.run()
    assert res.returncode == 0, res.stdout
    assert doc["status"] == "ok" and doc["records"]["stored"] == 3
    assert project.records("oldlib") == [("1.0", "2.0 pth")] * 3
    db = sqlite3.connect(project.state / "wiseflow.db")
    try:
        assert {u for (u,) in db.execute("select url from records")} == {"click 0.0.1"}
    finally:
        db.close()
    assert not any("Traceback" in line for line in said)


def test_plugins_info_shows_the_environment_and_its_pinned_set(
    tmp_path: Path, sources: EnvSources
) -> None:
    """`plugins info NAME` names the env's key, folder and every pinned package."""
    project = Project(tmp_path / "proj")
    project.plugin("newlib", name="newlib", kind="processor", code=NEW)
    assert project.wf("plugins", "grant", "newlib", "--all").returncode == 0
    env = resolve_env(["wfhelper"], sources)
    folder = build_env(env, project.state, sources)
    attach(project.root / "wiseflow.lock", "newlib", env)
    res = project.wf("plugins", "info", "newlib", "--json")
    assert res.returncode == 0, res.stderr
    python = json.loads(res.stdout)["python"]
    assert python["key"] == env.key and python["built"] is True
    assert python["pinned"] == ["wfdemolib==2.0", "wfhelper==0.5"]
    assert python["path"] == str(folder)
    text = project.wf("plugins", "info", "newlib")
    assert text.returncode == 0, text.stderr
    assert env.key in text.stdout and "wfhelper==0.5" in text.stdout
    # never built at run time: without its environment the plugin is refused, WF201
    remove_env(project.state, env.key)
    project.pipeline(PIPELINE.replace('"oldlib"', '"hello"'))
    res, doc = project.run()
    assert res.returncode == 2, res.stdout
    assert doc["error"]["code"] == "WF201" and env.key in doc["error"]["message"]
    assert not (project.state / "envs" / env.key).exists()
    info = json.loads(project.wf("plugins", "info", "newlib", "--json").stdout)
    assert info["python"]["built"] is False


def test_a_trusted_plugin_shares_the_hosts_env_and_its_conflicts_are_said(
    tmp_path: Path, sources: EnvSources
) -> None:
    """Trusted, it runs in the host: what the host lacks is listed, with the advice."""
    project = Project(tmp_path / "proj", '[plugins.plain]\nlevel = "trusted"\n')
    project.plugin(
        "plain", name="plain", kind="processor", code=NEW.replace("import wfdemolib", "")
    )
    assert project.wf("plugins", "grant", "plain", "--all").returncode == 0
    env = resolve_env(["wfdemolib<2"], sources)
    build_env(env, project.state, sources)
    attach(project.root / "wiseflow.lock", "plain", env)
    res = project.wf("plugins", "info", "plain", "--json")
    assert res.returncode == 0, res.stderr
    python = json.loads(res.stdout)["python"]
    assert python["environment"] == "host"
    assert python["conflicts"] == [
        "wfdemolib==1.0 needed, wfdemolib is not installed in the host's environment"
    ]
    text = project.wf("plugins", "info", "plain").stdout
    assert "run it sandboxed" in text and "wfdemolib==1.0" in text
