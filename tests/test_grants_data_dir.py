"""A file grant that holds the host's data dir (the store, the logs, every plugin's data)
cannot be narrowed by the sandbox (a confinement rule cannot leave a subfolder out): the
operator is told, by name, each time such a plugin is assembled to run confined."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from wiseflow._policy._grants import Effective, Grant, covering
from wiseflow._policy._operator import OperatorConfig, PluginPolicy
from wiseflow.testing import make_manager


def test_covering_names_the_grants_that_hold_the_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "project" / ".wiseflow"
    data.mkdir(parents=True)
    (tmp_path / "project-other").mkdir()
    perms = Effective(
        fs_read=(str(tmp_path / "project"), str(tmp_path / "project-other")),
        fs_write=(str(data),),
    )
    assert covering(perms, str(data)) == [
        ("fs_read", str(tmp_path / "project")),
        ("fs_write", str(data)),
    ]  # a sibling whose name merely starts the same is not a parent
    assert covering(Effective(fs_read=(str(tmp_path / "project-other"),)), str(data)) == []


@pytest.mark.parametrize(("granted", "warned"), [(".", True), ("docs", False)])
def test_a_sandboxed_plugin_granted_the_project_folder_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, granted: str, warned: bool
) -> None:
    project = tmp_path / "project"
    (project / "docs").mkdir(parents=True)
    folder = project / "plugins" / "reader"
    folder.mkdir(parents=True)
    root = str((project / granted).resolve())
    (folder / "plugin.toml").write_text(
        '[plugin]\nname = "reader"\nversion = "1.0.0"\nkind = "processor"\n'
        f'entry = "plugin:P"\n[plugin.permissions]\nfs_read = ["{root}"]\n'
    )
    (folder / "plugin.py").write_text(
        "from wiseflow import ProcessorPlugin\n\n"
        "class P(ProcessorPlugin):\n    def process(self, batch):\n        return batch\n"
    )
    config = OperatorConfig(plugins={"reader": PluginPolicy(grant=Grant(fs_read=(root,)))})
    pm = make_manager(
        data_dir=project / ".wiseflow", config=config, plugin_dirs=[project / "plugins"],
        level="sandboxed",
    )  # fmt: skip
    try:
        with caplog.at_level(logging.WARNING, logger="wiseflow.manager"):
            pm.start("reader")
    finally:
        pm.close()
    said = [r.getMessage() for r in caplog.records if "holds the data dir" in r.getMessage()]
    if warned:
        assert len(said) == 1 and f"fs_read grant {root}" in said[0] and "reader" in said[0]
    else:
        assert said == []
