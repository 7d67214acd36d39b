"""Hostile: a plugin tries to rewrite its own environment (shared with other plugins).

A worker may write only its data dir and scratch: its environment is read-only under
Landlock, so a plugin can neither patch a library in place nor plant a ``.pth`` file that
every worker using the same environment would run. The positive control runs the same
plugin with Landlock switched off (``allow_weaker_sandbox``): both writes then land.
"""

from __future__ import annotations

import errno
import hashlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hostile"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sandbox"))

from identity_kit import Project  # noqa: E402
from sandbox_kit import require_layers  # noqa: E402

from wiseflow._envs import EnvSources, build_env, resolve_env, site_packages  # noqa: E402
from wiseflow._policy._envlock import attach  # noqa: E402

WRITER = """\
import os
import wfdemolib

ATTEMPTS = {
    "patch": lambda site: open(os.path.join(site, "wfdemolib", "__init__.py"), "w").write(
        "__version__ = 'hijacked'\\n"),
    "plant": lambda site: open(os.path.join(site, "zz-hijack.pth"), "w").write(
        "import os\\n"),
}

class P(ConnectorPlugin):
    def fetch(self, state):
        site = os.path.dirname(os.path.dirname(wfdemolib.__file__))
        for i, (what, attempt) in enumerate(sorted(ATTEMPTS.items())):
            try:
                attempt(site)
                outcome = "written"
            except OSError as exc:
                outcome = f"errno {exc.errno}"
            yield Record(id=str(i), source=self.ctx.name, title=what, text=outcome)
"""
PIPELINE = """\
[pipeline]
name = "rewrite-env"

[[sources]]
plugin = "writer"
"""


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _project(tmp_path: Path, sources: EnvSources) -> tuple[Project, Path]:
    # the static audit refuses this plugin (it writes a .pth file): switched off here, so
    # that what is proven is the kernel's confinement, the layer that holds whatever the code
    config = '[policy]\nallow_weaker_sandbox = true\naudit_block = "none"\n'
    project = Project(tmp_path / "proj", config)
    project.plugin("writer", name="writer", code=WRITER)
    project.pipeline(PIPELINE)
    assert project.wf("plugins", "grant", "writer", "--all").returncode == 0
    env = resolve_env(["wfdemolib<2"], sources)
    folder = build_env(env, project.state, sources)
    attach(project.root / "wiseflow.lock", "writer", env)
    return project, site_packages(folder)


def test_a_plugin_cannot_write_into_its_environment(tmp_path: Path, sources: EnvSources) -> None:
    """Both writes fail with EACCES under Landlock; the env is unchanged, the run goes on."""
    require_layers("rlimits", "netns", "landlock", "seccomp")
    project, site = _project(tmp_path, sources)
    before = _digest(site)
    res, doc = project.run()
    assert res.returncode == 0, res.stdout + res.stderr  # the host survived, the run is ok
    assert doc["status"] == "ok"
    denied = f"errno {errno.EACCES}"
    assert project.records("writer") == [("patch", denied), ("plant", denied)]
    assert _digest(site) == before
    assert not (site / "zz-hijack.pth").exists()


def test_control_without_landlock_the_same_writes_land(tmp_path: Path, sources: EnvSources) -> None:
    """Positive control: with Landlock off (weaker sandbox allowed) the attack works."""
    require_layers("rlimits", "netns", "seccomp")
    project, site = _project(tmp_path, sources)
    res, doc = project.run(env={"WISEFLOW_SANDBOX_DISABLE": "landlock"})
    assert res.returncode == 0, res.stdout + res.stderr
    assert project.records("writer") == [("patch", "written"), ("plant", "written")]
    assert (site / "wfdemolib" / "__init__.py").read_text() == "__version__ = 'hijacked'\n"
    assert (site / "zz-hijack.pth").exists()
