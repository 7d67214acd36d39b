"""The CLI as a user runs it: real processes, exit codes, messages, --json documents."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from wf_cli import wf


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with a wiseflow.toml that runs plugins trusted and a plugins/ dir."""
    (tmp_path / "plugins").mkdir()
    (tmp_path / "wiseflow.toml").write_text(
        textwrap.dedent(
            """\
            [wiseflow]
            plugin_dirs = ["plugins"]
            data_dir = "state"

            [policy]
            level = "trusted"

            [plugins.broken.config]
            depth = "very"
            """
        )
    )
    return tmp_path


def add_plugin(project: Path, name: str, manifest: str, code: str | None) -> Path:
    folder = project / "plugins" / name
    folder.mkdir()
    (folder / "plugin.toml").write_text(textwrap.dedent(manifest))
    if code is not None:
        (folder / "plugin.py").write_text(textwrap.dedent(code))
    return folder


BROKEN_MANIFEST = """\
    [plugin]
    name = "broken"
    version = "not-a-version"
    kind = "analyzer"
    entry = "plugin:Half"
    api = ">=1,<2"

    [plugin.resources]
    memory_mb = -1
"""
HALF_CODE = """\
    import msgspec
    from wiseflow import AnalyzerPlugin

    class Half(AnalyzerPlugin):
        class Config(msgspec.Struct):
            depth: int = 1

        def analyze(self, batch):
            pass
"""


def test_list_shows_bundled_plugins_as_json(project: Path) -> None:
    """`plugins list --json` is one document listing the bundled examples."""
    res = wf("plugins", "list", "--json", cwd=project)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    names = {p["name"]: p for p in doc["plugins"]}
    assert {"hello", "upper", "wordcount"} <= set(names)
    hello = names["hello"]
    assert (hello["kind"], hello["origin"], hello["state"]) == (
        "connector",
        "entry-point",
        "UNLOADED",
    )
    assert set(hello) >= {"name", "version", "kind", "origin", "state", "level", "problems"}


def test_list_filters_by_kind_and_prints_a_table(project: Path) -> None:
    """`--kind` filters; without --json a table is printed."""
    res = wf("plugins", "list", "--kind", "analyzer", cwd=project)
    assert res.returncode == 0
    assert "wordcount" in res.stdout and "hello" not in res.stdout


def test_check_lists_every_problem_with_codes_and_exits_2(project: Path) -> None:
    """A broken manifest, an unimplemented method and a bad config are all reported at once."""
    add_plugin(project, "broken", BROKEN_MANIFEST, HALF_CODE)
    res = wf("plugins", "check", "plugins/broken", cwd=project)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    err = res.stderr
    assert "error WF101: plugin.version" in err
    assert "error WF101: plugin.resources.memory_mb" in err
    assert "error WF103: Half.result() is not implemented" in err
    assert "error WF105: config.depth" in err

    res = wf("plugins", "check", "plugins/broken", "--json", cwd=project)
    doc = json.loads(res.stdout)
    assert doc["plugin"] == "broken" and doc["ok"] is False
    codes = [p["code"] for p in doc["problems"]]
    assert codes.count("WF101") == 2 and "WF103" in codes and "WF105" in codes
    assert all({"code", "message", "hint", "file", "line"} <= set(p) for p in doc["problems"])


def test_check_reports_a_missing_entry(project: Path) -> None:
    """An entry module that does not exist is WF102, exit 2."""
    add_plugin(
        project,
        "lost",
        """\
        [plugin]
        name = "lost"
        version = "1.0"
        kind = "processor"
        entry = "nowhere:Gone"
        """,
        None,
    )
    res = wf("plugins", "check", "plugins/lost", "--json", cwd=project)
    assert res.returncode == 2
    doc = json.loads(res.stdout)
    assert [p["code"] for p in doc["problems"]] == ["WF102"]


def test_check_of_a_good_plugin_is_ok(project: Path) -> None:
    """A valid plugin checks clean with exit 0."""
    res = wf("plugins", "check", "wordcount", "--json", cwd=project)
    assert res.returncode == 0, res.stdout + res.stderr
    assert json.loads(res.stdout) == {"plugin": "wordcount", "ok": True, "problems": []}


def test_errors_are_one_line_with_hint_and_no_traceback(project: Path) -> None:
    """An unknown plugin gives `error WF...: ... (name)` plus a hint, exit 2."""
    res = wf("plugins", "info", "nope", cwd=project)
    assert res.returncode == 2
    assert res.stderr.startswith("error WF602: no plugin named 'nope' was found (nope)")
    assert "hint:" in res.stderr and "Traceback" not in res.stderr
    res = wf("plugins", "info", "nope", "--json", cwd=project)
    doc = json.loads(res.stdout)
    assert doc["error"]["code"] == "WF602" and doc["error"]["plugin"] == "nope"
    assert set(doc["error"]) >= {"code", "message", "plugin", "hint"}


def test_bad_operator_config_is_bad_input(project: Path) -> None:
    """A wrong value in wiseflow.toml exits 2 naming the file and field."""
    (project / "bad.toml").write_text('[policy]\nlevel = "yolo"\n')
    res = wf("plugins", "list", "--config", "bad.toml", cwd=project)
    assert res.returncode == 2
    assert "WF105" in res.stderr and "policy.level" in res.stderr


def test_usage_error_exits_2(project: Path) -> None:
    """An unknown command is a usage error (exit 2)."""
    assert wf("plugins", "frobnicate", cwd=project).returncode == 2


def test_info_shows_manifest_permissions_and_load_order(project: Path) -> None:
    """`plugins info` shows the manifest, permissions and load order without running code."""
    res = wf("plugins", "info", "hello", "--json", cwd=project)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["name"] == "hello" and doc["load_order"] == ["hello"]
    assert set(doc["permissions"]) == {"asked", "granted"}
    assert doc["config_schema"]["$ref"].endswith("Config")  # read in a strict worker
    res = wf("plugins", "info", "hello", "--schema", "--json", cwd=project)
    assert json.loads(res.stdout)["config_schema"]["$ref"].endswith("Config")


def test_disable_enable_grant_revoke_persist(project: Path) -> None:
    """Operator decisions made on the CLI persist in the data dir and show in list/info."""
    assert wf("plugins", "disable", "hello", cwd=project).returncode == 0
    doc = json.loads(wf("plugins", "list", "--json", cwd=project).stdout)
    assert next(p for p in doc["plugins"] if p["name"] == "hello")["state"] == "DISABLED"
    assert wf("plugins", "enable", "hello", cwd=project).returncode == 0
    doc = json.loads(wf("plugins", "list", "--json", cwd=project).stdout)
    assert next(p for p in doc["plugins"] if p["name"] == "hello")["state"] == "UNLOADED"
    res = wf("plugins", "grant", "hello", "--network", "example.org:443", "--json", cwd=project)
    assert json.loads(res.stdout)["grant"]["network"] == ["example.org:443"]
    assert (project / "state" / "operator.json").exists()
    assert wf("plugins", "revoke", "hello", cwd=project).returncode == 0


def test_new_scaffolds_a_plugin_that_checks_clean(project: Path) -> None:
    """`plugins new` creates a plugin folder that passes `plugins check`."""
    for kind in ("connector", "processor", "analyzer"):
        name = f"my-{kind}"
        res = wf("plugins", "new", name, "--kind", kind, "--dir", "plugins", cwd=project)
        assert res.returncode == 0, res.stderr
        res = wf("plugins", "check", f"plugins/{name}", cwd=project)
        assert res.returncode == 0, res.stdout + res.stderr


HOST_SHY = """\
    import sys
    if "wiseflow._host._manager" in sys.modules:
        raise RuntimeError("imported inside the host process")
    from wiseflow import ProcessorPlugin

    class P(ProcessorPlugin):
        def process(self, batch):
            return batch
"""
SHY_MANIFEST = """\
    [plugin]
    name = "shy"
    version = "1.0"
    kind = "processor"
    entry = "plugin:P"
"""


def test_check_never_imports_a_plugin_into_the_host(tmp_path: Path) -> None:
    """`plugins check` validates a plugin's interface inside a worker, at any level."""
    (tmp_path / "plugins").mkdir()
    add_plugin(tmp_path, "shy", SHY_MANIFEST, HOST_SHY)
    res = wf("plugins", "check", "plugins/shy", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert json.loads(res.stdout)["ok"] is True
    # configured trusted, check still vets it in a worker ...
    (tmp_path / "wiseflow.toml").write_text('[policy]\nlevel = "trusted"\n')
    res = wf("plugins", "check", "plugins/shy", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    # ... while running it trusted does import it into the host, and its guard fires
    res = wf(
        "plugins", "info", "shy", "--schema", "--json", "--plugin-dir", "plugins", cwd=tmp_path
    )
    assert res.returncode == 2
    assert "imported inside the host process" in res.stdout


def test_check_flags_a_placeholder_naming_no_config_field(project: Path) -> None:
    """fs_read = ["{nosuch}"] can never be granted; check says so (WF101)."""
    add_plugin(
        project,
        "holey",
        """\
        [plugin]
        name = "holey"
        version = "1.0"
        kind = "processor"
        entry = "plugin:P"
        [plugin.permissions]
        fs_read = ["{nosuch}"]
        """,
        """\
        import msgspec
        from wiseflow import ProcessorPlugin

        class P(ProcessorPlugin):
            class Config(msgspec.Struct):
                root: str = "/"

            def process(self, batch):
                return batch
        """,
    )
    res = wf("plugins", "check", "plugins/holey", "--json", cwd=project)
    assert res.returncode == 2
    problems = json.loads(res.stdout)["problems"]
    assert [p["code"] for p in problems] == ["WF101"]
    assert "{nosuch}" in problems[0]["message"]


def test_list_shows_a_broken_plugin_in_error_with_its_problems(project: Path) -> None:
    """A plugin whose manifest is broken is listed (state ERROR) with its WF101."""
    add_plugin(project, "broken", BROKEN_MANIFEST, HALF_CODE)
    doc = json.loads(wf("plugins", "list", "--json", cwd=project).stdout)
    row = next(p for p in doc["plugins"] if p["name"] == "broken")
    assert row["state"] == "ERROR"
    assert {p["code"] for p in row["problems"]} == {"WF101"}
    assert len(row["problems"]) == 2  # the bad version and the bad memory_mb
