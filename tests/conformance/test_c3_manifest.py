"""SPEC §3 from outside: each field of `plugin.toml` with a bad value is refused with its
code (§7), exit 2 and a hint, and nothing of the plugin runs, not even at level trusted
(each plugin's import writes a marker file; the valid one is the positive control).

Found from outside: a plugin name (or a pipeline instance name) longer than a file name may
be was accepted, then every command that made the plugin's folders failed with WF000
"internal error: File name too long" (exit 4). Names are now at most 64 characters (WF101
in a manifest, WF501 in a pipeline file); the SPEC gives the pattern but no length.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from outside import failure, plugin, text_failure, wf

MARKED = """\
    from pathlib import Path

    from wiseflow import ConnectorPlugin, Record

    Path(__file__).with_name("IMPORTED").write_text("plugin code ran")


    class Counter(ConnectorPlugin):
        def fetch(self, state):
            yield Record(id="1", source=self.ctx.name)
"""

HEAD = '[plugin]\nname = "{name}"\nkind = "connector"\nentry = "plugin:Counter"\n'
V = 'version = "1.0"\n'
LONG = "a" * 65

#: folder -> (manifest, the code `plugins list` and `run` give)
CASES = {
    "v-missing": (HEAD, "WF101"),
    "v-bad": (HEAD + 'version = "one"\n', "WF101"),
    "v-type": (HEAD + "version = 1\n", "WF101"),
    "api-bad": (HEAD + V + 'api = "banana"\n', "WF101"),
    "api-new": (HEAD + V + 'api = ">=5"\n', "WF204"),
    "py-bad": (HEAD + V + 'python = "three"\n', "WF101"),
    "py-new": (HEAD + V + 'python = ">=3.99"\n', "WF205"),
    "unknown": (HEAD + V + 'colour = "red"\n', "WF101"),
    "desc-type": (HEAD + V + "description = 5\n", "WF101"),
    "fallback-self": (HEAD + V + 'fallback = "fallback-self"\n', "WF101"),
    "req-spec": (HEAD + V + '[plugin.requires]\nother = "not a spec"\n', "WF101"),
    "req-missing": (HEAD + V + '[plugin.requires]\nother = ">=1"\n', "WF201"),
    "res-zero": (HEAD + V + "[plugin.resources]\ncpu_seconds = 0\n", "WF101"),
    "res-type": (HEAD + V + '[plugin.resources]\ntimeout_s = "60"\n', "WF101"),
    "res-bool": (HEAD + V + "[plugin.resources]\nmax_open_files = true\n", "WF101"),
    "res-unknown": (HEAD + V + "[plugin.resources]\ngpus = 1\n", "WF101"),
    "res-beyond": (HEAD + V + "[plugin.resources]\nmemory_mb = 2000000\n", "WF101"),
    "perm-type": (HEAD + V + '[plugin.permissions]\nsubprocess = "yes"\n', "WF101"),
    "perm-host": (HEAD + V + '[plugin.permissions]\nnetwork = ["no port here"]\n', "WF101"),
    "long-name": (HEAD.replace("{name}", LONG) + V, "WF101"),
}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("c3-manifest")
    for folder, (manifest, _) in {**CASES, "valid": (HEAD + V, "")}.items():
        plugin(root / "plugins", folder, manifest.replace("{name}", folder), MARKED)
    (root / "wiseflow.toml").write_text(
        '[wiseflow]\nplugin_dirs = ["plugins"]\n\n[policy]\nlevel = "trusted"\n'
    )
    for folder in (*CASES, "valid"):
        name = LONG if folder == "long-name" else folder
        (root / f"{folder}.toml").write_text(
            f'[pipeline]\nname = "p"\n\n[[sources]]\nplugin = "{name}"\nname = "src"\n'
        )
    return root


def test_c3_every_bad_manifest_is_listed_with_its_code(root: Path) -> None:
    done = wf("plugins", "list", "--json", cwd=root)
    assert done.returncode == 0, (done.stdout, done.stderr)
    rows = {Path(r["location"]).name: r for r in json.loads(done.stdout)["plugins"]}
    for folder, (_, code) in CASES.items():
        assert [p["code"] for p in rows[folder]["problems"]] == [code], rows[folder]
    assert rows["valid"]["problems"] == [], rows["valid"]
    assert not list(root.glob("plugins/*/IMPORTED")), "discovery imported plugin code"


@pytest.mark.parametrize("folder", ["v-bad", "api-new", "py-new", "req-missing", "long-name"])
def test_c3_running_a_bad_manifest_is_bad_input_and_runs_nothing(root: Path, folder: str) -> None:
    failure(wf("run", f"{folder}.toml", "--json", cwd=root), CASES[folder][1], 2)
    assert not (root / "plugins" / folder / "IMPORTED").exists(), "its code ran"


def test_c3_the_valid_manifest_runs_its_code(root: Path) -> None:
    """The positive control: the marker is written when the plugin's code does run."""
    done = wf("run", "valid.toml", "--json", cwd=root)
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert (root / "plugins" / "valid" / "IMPORTED").exists()


def test_c3_a_long_name_is_a_manifest_problem_not_an_internal_error(root: Path) -> None:
    text = text_failure(wf("plugins", "check", "plugins/long-name", cwd=root), "WF101", 2)
    assert "64 characters" in text, text
    long_instance = '[pipeline]\nname = "p"\n\n[[sources]]\nplugin = "valid"\nname = "{}"\n'
    (root / "long-instance.toml").write_text(long_instance.format("i" * 65))
    error = failure(wf("run", "long-instance.toml", "--json", cwd=root), "WF501", 2)
    assert "64 characters" in json.dumps(error), error
