"""Bytecode planting and audit blind spots: code that runs but that nobody read.

The attacker leaves a plugin's ``.py`` sources clean (that is what the audit and a reviewer
read) and plants bytecode compiled from malicious source: in ``__pycache__`` with an
unchecked hash (Python's import system runs it without looking at the source), or as a
sourceless ``.pyc`` beside the sources. Plugin modules now load from source only, in the host
and in workers; a sourceless ``.pyc`` is refused with a clear error. The audit also reads
``tests/``, from which an entry may load.
"""

from __future__ import annotations

import importlib.util
import json
import py_compile
import subprocess
import sys
from pathlib import Path

import pytest
from identity_kit import Project, marker_prelude

CLEAN_PLUGIN = """\
from .helper import WHO

class P(ConnectorPlugin):
    def fetch(self, state):
        yield Record(id="1", source=self.ctx.name, title=WHO)
"""
PIPELINE = """\
[pipeline]
name = "bytecode"

[[sources]]
plugin = "bc"
"""


def plant(source: Path, malicious: str, tmp: Path, *, sourceless: bool = False) -> Path:
    """Compile ``malicious`` into the bytecode Python would load for ``source``."""
    evil = tmp / f"evil-{source.stem}.py"
    evil.write_text(malicious)
    if sourceless:
        cfile = source.with_suffix(".pyc")
    else:
        cfile = Path(importlib.util.cache_from_source(str(source)))
    cfile.parent.mkdir(exist_ok=True)
    py_compile.compile(
        str(evil), cfile=str(cfile), dfile=str(source), doraise=True,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )  # fmt: skip
    return cfile


def stock_import(project: Project, folder: Path) -> str:
    """Import the plugin with Python's own import system; the WHO it ends up with."""
    code = (
        f"import sys; sys.path.insert(0, {str(folder.parent)!r}); "
        f"import {folder.name}.plugin as m; print(m.WHO)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=project.root)  # fmt: skip
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def bytecode_plugin(project: Project, level: str, audit_block: str = "high") -> Path:
    policy = f'[policy]\naudit_block = "{audit_block}"\n\n'
    project.configure(policy + f'[plugins.bc]\nlevel = "{level}"\n')
    folder = project.plugin("bc", name="bc", code=CLEAN_PLUGIN)
    project.pipeline(PIPELINE)
    return folder


def clear_markers(project: Project) -> None:
    project.host_marker("evil").unlink()
    project.data_marker("bc", "evil").unlink()


def evil_source(project: Project, who: str) -> str:
    marks = [project.host_marker("evil"), project.data_marker("bc", "evil")]
    return marker_prelude(marks) + f"WHO = {who!r}\n"


@pytest.mark.parametrize("level", ["sandboxed", "trusted"])
def test_planted_pycache_bytecode_never_runs(tmp_path: Path, level: str) -> None:
    """Unchecked-hash .pyc files in __pycache__ are ignored: the clean source is what runs."""
    project = Project(tmp_path / "project")
    folder = bytecode_plugin(project, level)
    (folder / "helper.py").write_text('WHO = "clean"\n')
    for module in ("helper", "plugin"):
        plant(folder / f"{module}.py", evil_source(project, "evil") + (
            "from wiseflow import *\nclass P(ConnectorPlugin):\n    pass\n"
            if module == "plugin" else ""
        ), tmp_path)  # fmt: skip
    # positive control: Python's own import system runs the planted bytecode
    assert stock_import(project, folder) == "evil"
    assert Project.marks(project.host_marker("evil"))
    clear_markers(project)

    res, doc = project.run()

    assert res.returncode == 0, doc
    assert project.records("bc") == [("clean", "")]
    assert Project.marks(project.host_marker("evil")) == []
    assert Project.marks(project.data_marker("bc", "evil")) == []


@pytest.mark.parametrize("level", ["sandboxed", "trusted"])
def test_sourceless_bytecode_is_refused(tmp_path: Path, level: str) -> None:
    """A .pyc without its .py is refused: by the audit (WF302), else by the loader (WF303)."""
    project = Project(tmp_path / "project")
    folder = bytecode_plugin(project, level)
    plant(folder / "helper.py", evil_source(project, "evil-sourceless"), tmp_path,
          sourceless=True)  # fmt: skip
    # positive control: Python's own import system runs sourceless bytecode
    assert stock_import(project, folder) == "evil-sourceless"
    clear_markers(project)

    res, doc = project.run()
    assert res.returncode == 3, doc
    assert doc["error"]["code"] == "WF302" and "helper.pyc" in doc["error"]["message"]

    bytecode_plugin(project, level, audit_block="none")  # the audit waved through: the loader
    res, doc = project.run()
    assert res.returncode == 3, doc
    assert doc["error"]["code"] == "WF303", doc
    assert "helper.pyc" in doc["error"]["message"] and "without source" in doc["error"]["message"]
    plain = project.wf("run", "p.toml")
    assert plain.returncode == 3 and "error WF303" in plain.stderr
    assert "Traceback" not in plain.stderr
    assert Project.marks(project.host_marker("evil")) == []
    assert Project.marks(project.data_marker("bc", "evil")) == []


def test_audit_reads_the_tests_folder_an_entry_loads_from(tmp_path: Path) -> None:
    """`entry = "tests.x:P"` is audited like any module: eval hidden under tests/ is found."""
    project = Project(tmp_path)
    folder = project.plugin("hidden", name="hidden", code="", cls="P")
    text = (folder / "plugin.toml").read_text().replace('"plugin:P"', '"tests.x:P"')
    (folder / "plugin.toml").write_text(text)
    (folder / "tests").mkdir()
    (folder / "tests" / "__init__.py").write_text("")
    (folder / "tests" / "x.py").write_text(
        "from wiseflow import *\n"
        "class P(ConnectorPlugin):\n"
        "    def fetch(self, state):\n"
        "        eval(self.ctx.config.get('code', '1'))\n"
        "        yield Record(id='1', source=self.ctx.name)\n"
    )

    res = project.wf("plugins", "audit", "plugins/hidden", "--json")

    doc = json.loads(res.stdout)
    found = [p for p in doc["problems"] if p["file"].endswith("tests/x.py")]
    assert [p["rule"] for p in found] == ["dynamic-code"], doc
    assert res.returncode == 3 and doc["ok"] is False


BY_PATH_PLUGIN = """\
import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("bc_ext", Path(__file__).parent / "ext.py")
_ext = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_ext)  # Python's own SourceFileLoader, not wiseflow's finder
WHO = _ext.WHO

class P(ConnectorPlugin):
    def fetch(self, state):
        yield Record(id="1", source=self.ctx.name, title=WHO)
"""


@pytest.mark.parametrize("level", ["sandboxed", "trusted"])
def test_planted_bytecode_of_a_module_loaded_by_path_never_runs(tmp_path: Path, level: str) -> None:
    """Plugin code loading a helper by file path gets the helper's source, not planted bytecode."""
    project = Project(tmp_path / "project")
    project.configure(f'[plugins.bc]\nlevel = "{level}"\n')
    folder = project.plugin("bc", name="bc", code=BY_PATH_PLUGIN)
    project.pipeline(PIPELINE)
    (folder / "ext.py").write_text('WHO = "clean"\n')
    plant(folder / "ext.py", evil_source(project, "evil"), tmp_path)
    assert stock_import(project, folder) == "evil"  # positive control: Python runs it
    clear_markers(project)
    assert project.wf("plugins", "grant", "bc").returncode == 0  # approved as it is

    res, doc = project.run()

    assert res.returncode == 0, doc
    assert project.records("bc") == [("clean", "")]
    assert Project.marks(project.host_marker("evil")) == []
    assert Project.marks(project.data_marker("bc", "evil")) == []
