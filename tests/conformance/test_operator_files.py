"""wiseflow.toml and the data dir as an operator writes them (SPEC §4, §6): a mistake there
is bad input (WF105, exit 2) naming the file, never an internal error (WF000, exit 4)."""

from __future__ import annotations

from pathlib import Path

import pytest
from outside import failure, plugin, project, text_failure, wf

COUNTER_TOML = """\
    [plugin]
    name = "counter"
    version = "1.0"
    kind = "connector"
    entry = "plugin:Counter"
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    plugin(tmp_path / "plugins", "counter", COUNTER_TOML)
    return tmp_path


def test_data_dir_below_a_file_is_bad_input(root: Path) -> None:
    project(root, '[policy]\nlevel = "trusted"\n')
    (root / "a-file").write_text("not a folder\n")
    error = failure(wf("run", "p.toml", "--data-dir", "a-file/sub", "--json", cwd=root), "WF105", 2)
    assert "a-file" in error["message"] and "data dir" in error["message"], error
    text_failure(wf("plugins", "list", "--data-dir", "a-file/sub", cwd=root), "WF105", 2)


def test_damaged_operator_state_is_bad_input_naming_the_file(root: Path) -> None:
    project(root, '[policy]\nlevel = "trusted"\n')
    state = root / ".wiseflow" / "operator.json"
    state.parent.mkdir()
    state.write_text("{ this is not json")
    error = failure(wf("plugins", "list", "--json", cwd=root), "WF105", 2)
    assert str(state) in error["message"] or error["plugin"] == str(state), error
    text_failure(wf("run", "p.toml", cwd=root), "WF105", 2)


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ("retry = { attempts = 0 }", "attempts"),  # attempts = total tries: at least one
        ("retry = { attempts = -2 }", "attempts"),
        ("retry = { backoff_s = -1 }", "backoff_s"),
        ("retry = { max_backoff_s = -1 }", "max_backoff_s"),
        ("breaker = { failures = 0 }", "failures"),
        ("breaker = { reset_s = -5 }", "reset_s"),
    ],
)
def test_retry_and_breaker_out_of_range_are_refused(root: Path, table: str, field: str) -> None:
    project(root, f"[plugins.counter]\n{table}\n")
    error = failure(wf("plugins", "list", "--json", cwd=root), "WF105", 2)
    assert field in error["message"], error


def test_retry_and_breaker_in_range_are_accepted(root: Path) -> None:
    project(
        root,
        '[policy]\nlevel = "trusted"\n[plugins.counter]\n'
        "retry = { attempts = 1, backoff_s = 0, max_backoff_s = 0 }\n"
        "breaker = { failures = 1, reset_s = 0 }\n",
    )
    done = wf("run", "p.toml", "--json", cwd=root)
    assert done.returncode == 0, done.stderr


def test_plugins_new_into_a_file_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder\n")
    error = failure(
        wf(
            "plugins",
            "new",
            "nice",
            "--kind",
            "processor",
            "--dir",
            "a-file",
            "--json",
            cwd=tmp_path,
        ),
        "WF101",
        2,
    )
    assert "a-file" in error["message"], error


def test_an_unknown_resource_key_is_refused_not_ignored(root: Path) -> None:
    """`resources.memory = 64` (for memory_mb) would otherwise leave the limit unset."""
    project(root, "[plugins.counter]\nresources.memory = 64\n")
    error = failure(wf("plugins", "list", "--json", cwd=root), "WF105", 2)
    assert "resources.memory" in error["message"] and "memory_mb" in error["message"], error
    project(root, "[plugins.counter]\nresources.memory_mb = 64\nresources.soft_memory_mb = 32\n")
    assert wf("plugins", "list", "--json", cwd=root).returncode == 0  # control
