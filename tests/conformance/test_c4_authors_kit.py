"""SPEC §13 from outside: the authors' kit (``wiseflow.testing``, ``plugins test``) given
bad input, as an author's own test suite would.

Found from outside: ``run_plugin(..., level="bogus")`` raised a bare ``WiseflowError``
(code WF105) that ``except wiseflow.ConfigError`` did not catch; ``conformance(PATH,
level="bogus")`` ran the suite and reported the plugin as failing four checks ("not run:
unknown level"), blaming the plugin for the caller's typo; ``plugins test DIR --json`` on a
folder without plugin.toml said ``"plugin": null`` where ``plugins check`` and ``audit``
name the folder (§6: every error names the file concerned).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from outside import failure, plugin, wf

import wiseflow
from wiseflow.testing import conformance, run_plugin

MANIFEST = (
    '[plugin]\nname = "counter"\nversion = "1.0.0"\nkind = "connector"\nentry = "plugin:Counter"\n'
)


def test_c4_an_unknown_level_is_a_config_error_before_anything_runs(tmp_path: Path) -> None:
    folder = plugin(tmp_path, "counter", MANIFEST)
    with pytest.raises(wiseflow.ConfigError) as raised:
        run_plugin(folder, level="bogus")
    assert raised.value.code == "WF105" and "trusted" in (raised.value.hint or "")
    with pytest.raises(wiseflow.ConfigError):
        conformance(folder, level="bogus")
    assert [r.id for r in run_plugin(folder).records] == ["0", "1"]  # the control


def test_c4_a_folder_without_plugin_toml_is_named(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(wiseflow.ManifestError) as raised:
        run_plugin(tmp_path / "empty")
    assert raised.value.plugin == str(tmp_path / "empty")
    error = failure(wf("plugins", "test", "empty", "--json", cwd=tmp_path), "WF101", 2)
    assert error["plugin"] == "empty"
