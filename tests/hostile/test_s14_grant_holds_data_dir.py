"""Attack: a plugin granted the project folder (``fs_read = ["."]``, the files connector's
usual root) reaches into the data dir inside it: the store with every plugin's records,
the logs, other plugins' data dirs. A Landlock rule covers all beneath its folder, so the
sandbox carves the data dir out of such a grant (``_sandbox/_carve``) and the broker
refuses it (WF301). The plugin still reads the rest of the folder and its own data dir.
Control: with the carving off, the same plugin reads the other plugin's token directly.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from wiseflow._policy._grants import Grant
from wiseflow._policy._operator import OperatorConfig, PluginPolicy
from wiseflow._sandbox import _launch
from wiseflow._sandbox._carve import carve
from wiseflow.testing import make_manager

TOKEN = "other plugin's token: s3cr3t"

THIEF = """
import os
from wiseflow import ProcessorPlugin, WiseflowError

class P(ProcessorPlugin):
    def process(self, batch):
        return batch

    def direct(self, path):
        try:
            with open(path) as f:
                return "read: " + f.read()
        except OSError as exc:
            return f"refused: {exc.errno}"

    def brokered(self, path):
        try:
            return "read: " + self.ctx.read_path(path).decode()
        except WiseflowError as exc:
            return f"refused: {exc.code}"

    def listing(self, path):
        return sorted(os.listdir(path))

    def keep(self, text):
        with open(os.path.join(self.ctx.data_dir, "mine.txt"), "w") as f:
            f.write(text)
        with open(os.path.join(self.ctx.data_dir, "mine.txt")) as f:
            return f.read()
"""


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / "docs").mkdir(parents=True)
    (project / "docs" / "a.md").write_text("docs")
    (project / "top.txt").write_text("top")
    other = project / ".wiseflow" / "plugins" / "other"
    other.mkdir(parents=True)
    (other / "token.txt").write_text(TOKEN)
    folder = project / "plugins" / "thief"
    folder.mkdir(parents=True)
    (folder / "plugin.toml").write_text(
        '[plugin]\nname = "thief"\nversion = "1.0.0"\nkind = "processor"\n'
        f'entry = "plugin:P"\n[plugin.permissions]\nfs_read = ["{project}"]\n'
    )
    (folder / "plugin.py").write_text(THIEF)
    return project


def _start(project: Path) -> tuple[Any, Any]:
    config = OperatorConfig(plugins={"thief": PluginPolicy(grant=Grant(fs_read=(str(project),)))})
    pm = make_manager(
        data_dir=project / ".wiseflow", config=config, plugin_dirs=[project / "plugins"],
        level="sandboxed",
    )  # fmt: skip
    return pm, pm.start("thief")


def test_carve_leaves_out_the_protected_folder_and_links(tmp_path: Path) -> None:
    project = _project(tmp_path)
    os.symlink(project / ".wiseflow", project / "link")
    grant, listing = carve([str(project)], [str(project / ".wiseflow")])
    assert sorted(grant) == sorted(str(project / n) for n in ("docs", "top.txt", "plugins"))
    assert listing == [str(project)]
    assert carve([str(project / "docs")], [str(project / ".wiseflow")]) == (
        [str(project / "docs")],
        [],
    )  # a grant beside the data dir is kept whole
    inner = str(project / ".wiseflow" / "plugins")
    assert carve([inner], [str(project / ".wiseflow")]) == ([], [])  # inside: nothing


def test_a_grant_of_the_project_folder_does_not_reach_the_data_dir(tmp_path: Path) -> None:
    project = _project(tmp_path)
    token = str(project / ".wiseflow" / "plugins" / "other" / "token.txt")
    pm, h = _start(project)
    try:
        assert h.invoke("direct", token).startswith("refused: ")  # EACCES from Landlock
        assert h.invoke("brokered", token) == "refused: WF301"
        assert h.invoke("direct", str(project / "docs" / "a.md")) == "read: docs"
        assert h.invoke("brokered", str(project / "top.txt")) == "read: top"
        assert ".wiseflow" in h.invoke("listing", str(project))  # names, never contents
        assert h.invoke("keep", "own") == "own"  # its own data dir, inside, still works
    finally:
        pm.close()


def test_control_without_the_carving_the_token_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path)
    token = str(project / ".wiseflow" / "plugins" / "other" / "token.txt")
    monkeypatch.setattr(_launch, "carve", lambda roots, protected: (list(roots), []))
    pm, h = _start(project)
    try:
        assert h.invoke("direct", token) == "read: " + TOKEN
    finally:
        pm.close()
