"""Vetting is inert: `plugins check PATH` and `plugins audit PATH` never run the plugin in the host.

An operator vets a downloaded folder before trusting it. Its manifest claims a name the
operator configured ``trusted``; before identity, `plugins check` imported it into the CLI
process with that level. Two detectors sit in the plugin's module: an import marker the host
alone can write, and a ``RuntimeError`` raised when ``wiseflow._host._manager`` (host-only) is
loaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from identity_kit import Project

IN_HOST = "VETTING-RAN-ME-IN-THE-HOST"
CODE = f"""\
import sys
if "wiseflow._host._manager" in sys.modules:
    raise RuntimeError("{IN_HOST}")

class P(ProcessorPlugin):
    def process(self, batch):
        return batch
"""
PIPELINE = """\
[pipeline]
name = "vetted"

[[sources]]
plugin = "wordsource"

[[processors]]
plugin = "{name}"
"""
SOURCE = """\
class P(ConnectorPlugin):
    def fetch(self, state):
        yield Record(id="1", source=self.ctx.name, text="one")
"""

CLAIMS = '[plugins.upper]\nlevel = "trusted"\n'
SETUPS = {
    # the folder claims a bundled name that wiseflow.toml configures trusted; it is vetted
    # before being installed (outside plugin_dirs), or already sits in a plugin folder
    "claims-a-trusted-name": ("upper", CLAIMS, ("plugins",)),
    "claims-a-trusted-name-installed": ("upper", CLAIMS, ("plugins", "downloaded")),
    # the folder is itself the plugin configured trusted (pinned to it)
    "is-the-trusted-plugin": (
        "x",
        '[plugins.x]\nlevel = "trusted"\norigin = "downloaded/x"\n',
        ("plugins", "downloaded"),
    ),
}


def downloaded(project: Project, name: str) -> Path:
    """The folder under vetting, with both detectors; a strict worker may import it."""
    return project.plugin(
        "x",
        name=name,
        kind="processor",
        code=CODE,
        marker="imported",
        instances=(f"check-{name}",),
        where=project.root / "downloaded",
    )


@pytest.fixture(params=sorted(SETUPS))
def vetting(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Project, str, Path]:
    name, config, dirs = SETUPS[request.param]
    project = Project(tmp_path, config, plugin_dirs=dirs)
    return project, name, downloaded(project, name)


def test_check_imports_the_folder_only_in_a_strict_worker(
    vetting: tuple[Project, str, Path],
) -> None:
    """`plugins check ./downloaded/x` of a trusted-named folder never runs it in the CLI."""
    project, name, _ = vetting

    res = project.wf("plugins", "check", "./downloaded/x", "--json")

    assert "Traceback" not in res.stderr
    doc = json.loads(res.stdout)
    assert IN_HOST not in res.stdout + res.stderr
    assert Project.marks(project.host_marker("imported")) == []
    # the interface check did import it: in a worker (host=False), in its own data dir
    worker = Project.marks(project.data_marker(f"check-{name}", "imported"))
    assert worker and all("host=False" in line for line in worker)
    # a folder claiming a configured name is told it would be refused (WF104); nothing else
    expected = {"WF104"} if name == "upper" else set()
    assert {p["code"] for p in doc["problems"]} == expected, doc
    assert res.returncode == (2 if expected else 0)


def test_audit_never_imports_the_folder(vetting: tuple[Project, str, Path]) -> None:
    """`plugins audit ./downloaded/x` reads source only: no process imports the module."""
    project, name, _ = vetting

    res = project.wf("plugins", "audit", "./downloaded/x", "--json")

    assert res.returncode == 0, res.stdout + res.stderr
    assert json.loads(res.stdout)["plugin"] == name
    assert Project.marks(project.host_marker("imported")) == []
    assert Project.marks(project.data_marker(f"check-{name}", "imported")) == []
    assert IN_HOST not in res.stdout + res.stderr


def test_running_it_trusted_does_import_it_in_the_host(tmp_path: Path) -> None:
    """Positive control: run at level trusted, the same module lands in the host and fires."""
    name, config, dirs = SETUPS["is-the-trusted-plugin"]
    project = Project(tmp_path, config, plugin_dirs=dirs)
    downloaded(project, name)
    project.plugin("wordsource", name="wordsource", code=SOURCE)
    project.pipeline(PIPELINE.format(name=name))

    res = project.wf("run", "p.toml", "--json")

    marks = Project.marks(project.host_marker("imported"))
    assert marks and all("host=True" in line for line in marks)
    assert IN_HOST in res.stdout  # the host-detector fired: it is a working detector
    assert json.loads(res.stdout)["error"]["code"] == "WF102"
