"""Discovery from installed distributions, plugin folders and direct candidates."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

import pytest

from conftest_discovery import cand, install_plugin, manifest_text, plugin_folder, write_dist
from wiseflow._discovery import Candidate, Discovery, discover
from wiseflow._resolve import dependency_tree, render_tree, resolve


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty site directory first on ``sys.path``."""
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.setattr(sys, "path", [str(path), *sys.path])
    return path


def mine(found: Discovery, site: Path) -> dict[str, Candidate]:
    """Candidates whose manifest lives under ``site`` (ignores the venv's own plugins)."""
    return {
        c.name: c
        for c in found.candidates
        if c.manifest.path and c.manifest.path.startswith(str(site))
    }


def codes(found: Discovery, plugin: str) -> list[str]:
    return [p.code for p in found.problems if p.plugin == plugin]


def test_installed_plugin_is_found_from_its_dist_info(site: Path) -> None:
    """An installed distribution's entry point becomes a candidate with its manifest."""
    install_plugin(site, "alpha", "1.2.0", dist="wf-alpha")
    found = mine(discover(), site)
    c = found["alpha"]
    assert c.origin == "entry-point"
    assert c.location == "wf-alpha==1.2.0"
    assert c.entry_point == "alpha_pkg:Plugin"
    assert c.code_root is None
    assert c.version == "1.2.0"
    assert c.manifest.path == str(site / "alpha_pkg" / "plugin.toml")


def test_module_file_entry_reads_manifest_beside_the_module(site: Path) -> None:
    """For ``pkg.mod:Class`` with ``pkg/mod.py``, the manifest is ``pkg/plugin.toml``."""
    write_dist(
        site,
        "wf-beta",
        "0.1",
        {"beta": "beta_pkg.mod:Beta"},
        {
            "beta_pkg/__init__.py": "",
            "beta_pkg/mod.py": "class Beta: ...\n",
            "beta_pkg/plugin.toml": manifest_text("beta", "0.1", entry="beta_pkg.mod:Beta"),
        },
    )
    assert mine(discover(), site)["beta"].entry_point == "beta_pkg.mod:Beta"


def test_nested_package_entry_reads_manifest_inside_the_package(site: Path) -> None:
    """For ``a.b.c:Class`` with package ``a/b/c``, the manifest is ``a/b/c/plugin.toml``."""
    write_dist(
        site,
        "wf-gamma",
        "2.0",
        {"gamma": "ns_a.b.c:Gamma"},
        {
            "ns_a/b/c/__init__.py": "class Gamma: ...\n",
            "ns_a/b/c/plugin.toml": manifest_text("gamma", "2.0", entry="ns_a.b.c:Gamma"),
            "ns_a/b/plugin.toml": "this would be the wrong file",
        },
    )
    found = discover()
    assert mine(found, site)["gamma"].manifest.path == str(site / "ns_a/b/c/plugin.toml")
    assert not codes(found, "gamma")


def test_discovery_listing_and_resolution_never_import_plugin_code(
    site: Path, tmp_path: Path
) -> None:
    """Discover, resolve, explain and tree never import a plugin's module."""
    marker = tmp_path / "imported"
    code = f"open({str(marker)!r}, 'w').close()\nraise SystemExit('imported!')\n"
    install_plugin(site, "loud", code=code)
    install_plugin(site, "needs-loud", code=code, requires={"loud": ">=1"})
    folder = plugin_folder(tmp_path / "plugins", "quiet")
    (folder / "quiet_code.py").write_text(code)
    found = discover(plugin_dirs=[tmp_path / "plugins"], cache_dir=tmp_path / "cache")
    found = discover(plugin_dirs=[tmp_path / "plugins"], cache_dir=tmp_path / "cache")
    res = resolve(found.candidates)
    render_tree(dependency_tree(res, "needs-loud"))
    assert res.order.index("loud") < res.order.index("needs-loud")
    assert "quiet" in res.selected
    assert not marker.exists()
    assert "loud_pkg" not in sys.modules
    assert "needs_loud_pkg" not in sys.modules
    assert "quiet_code" not in sys.modules


def test_entry_point_without_manifest_is_a_wf101_problem(site: Path) -> None:
    """A distribution that ships no plugin.toml is reported, not loaded."""
    write_dist(site, "wf-bare", "1", {"bare": "bare_pkg:Bare"}, {"bare_pkg/__init__.py": ""})
    found = discover()
    assert "bare" not in mine(found, site)
    [problem] = [p for p in found.problems if p.plugin == "bare"]
    assert problem.code == "WF101"
    assert "no plugin.toml" in problem.message
    assert problem.hint


def test_entry_point_to_missing_module_is_a_problem(site: Path) -> None:
    """An entry point whose module is not on sys.path is a WF101 problem."""
    write_dist(site, "wf-ghost", "1", {"ghost": "ghost_nowhere:Ghost"}, {})
    found = discover()
    assert codes(found, "ghost") == ["WF101"]
    assert "not on sys.path" in found.problems[-1].message or any(
        "not on sys.path" in p.message for p in found.problems
    )


def test_malformed_entry_point_value_is_a_problem(site: Path) -> None:
    """An entry point value that is not ``module:Class`` is a WF101 problem."""
    write_dist(site, "wf-odd", "1", {"odd": "not a value"}, {})
    assert codes(discover(), "odd") == ["WF101"]


def test_entry_point_name_must_equal_manifest_name(site: Path) -> None:
    """An entry point named differently from its manifest is refused (WF101)."""
    write_dist(
        site,
        "wf-liar",
        "1",
        {"liar": "liar_pkg:Plugin"},
        {
            "liar_pkg/__init__.py": "",
            "liar_pkg/plugin.toml": manifest_text("honest", entry="liar_pkg:Plugin"),
        },
    )
    found = discover()
    assert not mine(found, site)
    [problem] = [p for p in found.problems if p.plugin == "liar"]
    assert problem.code == "WF101"
    assert "'honest'" in problem.message


def test_entry_point_value_must_equal_manifest_entry(site: Path) -> None:
    """An entry point pointing elsewhere than the manifest's entry is refused (WF101)."""
    write_dist(
        site,
        "wf-two",
        "1",
        {"two": "two_pkg:Other"},
        {
            "two_pkg/__init__.py": "",
            "two_pkg/plugin.toml": manifest_text("two", entry="two_pkg:Plugin"),
        },
    )
    found = discover()
    assert not mine(found, site)
    assert codes(found, "two") == ["WF101"]


def test_broken_installed_manifest_reports_file_line_and_plugin(site: Path) -> None:
    """An invalid field in an installed manifest is a problem with file, line and plugin."""
    text = manifest_text("broken", entry="broken_pkg:Plugin").replace(
        'version = "1.0.0"', 'version = "not a version"'
    )
    write_dist(
        site,
        "wf-broken",
        "1",
        {"broken": "broken_pkg:Plugin"},
        {"broken_pkg/__init__.py": "", "broken_pkg/plugin.toml": text},
    )
    found = discover()
    [problem] = [p for p in found.problems if p.plugin == "broken"]
    assert problem.code == "WF101"
    assert problem.file == str(site / "broken_pkg" / "plugin.toml")
    assert problem.line == 3
    assert "plugin.version" in problem.message


def test_first_distribution_of_a_name_on_sys_path_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Like importlib.metadata, an earlier sys.path entry shadows a later same-named dist."""
    first, second = tmp_path / "first", tmp_path / "second"
    install_plugin(first, "shadow", "2.0", dist="wf-shadow")
    install_plugin(second, "shadow", "1.0", dist="wf-shadow")
    monkeypatch.setattr(sys, "path", [str(first), str(second), *sys.path])
    found = [c for c in discover().candidates if c.name == "shadow"]
    assert [c.location for c in found] == ["wf-shadow==2.0"]


def test_entry_points_match_importlib_metadata(site: Path) -> None:
    """The entry points read by path equal what importlib.metadata lists."""
    install_plugin(site, "one")
    install_plugin(site, "two-x", dist="Two.X")
    write_dist(site, "wf-multi", "3", {"m1": "multi:A", "m2": "multi:B"}, {}, egg=True)
    importlib.invalidate_caches()
    expected = {
        (ep.name, ep.value)
        for ep in importlib.metadata.entry_points(group="wiseflow.plugins")
        if ep.dist is not None and str(site) in str(ep.dist.locate_file(""))
    }
    found = discover()
    seen = {(c.name, c.entry_point) for c in mine(found, site).values()}
    seen |= {
        (p.plugin, p.message.split("= '")[1].split("'")[0])
        for p in found.problems
        if p.plugin in ("m1", "m2")
    }
    assert seen == expected


def test_egg_info_distribution_is_read(site: Path) -> None:
    """An ``*.egg-info`` distribution (PKG-INFO) is discovered like a dist-info."""
    write_dist(
        site,
        "wf-egg",
        "0.5",
        {"egg": "egg_pkg:Plugin"},
        {
            "egg_pkg/__init__.py": "",
            "egg_pkg/plugin.toml": manifest_text("egg", "0.5", entry="egg_pkg:Plugin"),
        },
        egg=True,
    )
    assert mine(discover(), site)["egg"].location == "wf-egg==0.5"


def test_entry_points_false_skips_installed_plugins(site: Path) -> None:
    """With entry_points=False nothing installed is scanned."""
    install_plugin(site, "alpha")
    found = discover(entry_points=False)
    assert found.candidates == ()
    assert found.problems == ()


def test_plugin_dir_that_holds_plugin_toml_is_one_plugin(tmp_path: Path) -> None:
    """A plugin_dirs entry holding plugin.toml is itself the plugin folder."""
    folder = plugin_folder(tmp_path, "solo", "0.2")
    [c] = discover(plugin_dirs=[folder], entry_points=False).candidates
    assert c.origin == "dir"
    assert c.location == str(folder)
    assert c.code_root == str(folder)
    assert c.entry_point is None


def test_folder_of_plugin_folders_is_scanned_one_level_deep(tmp_path: Path) -> None:
    """Each subfolder with plugin.toml is a plugin; deeper, hidden and plain folders are not."""
    root = tmp_path / "plugins"
    plugin_folder(root, "a")
    plugin_folder(root, "b")
    plugin_folder(root / "c", "too-deep")
    plugin_folder(root / ".hidden", "x")
    (root / "notes").mkdir()
    (root / "README.md").write_text("hi")
    found = discover(plugin_dirs=[str(root)], entry_points=False)
    assert [c.name for c in found.candidates] == ["a", "b"]
    assert found.problems == ()


def test_broken_folder_manifest_is_a_problem_and_discovery_continues(tmp_path: Path) -> None:
    """Invalid TOML and invalid fields become WF101 problems; other plugins still load."""
    root = tmp_path / "plugins"
    plugin_folder(root, "good")
    (root / "syntax").mkdir()
    (root / "syntax" / "plugin.toml").write_text('[plugin]\nname = "syntax"\nversion = \n')
    bad = plugin_folder(root, "fields")
    (bad / "plugin.toml").write_text(
        manifest_text("fields", entry="f:P").replace('kind = "processor"', 'kind = "gizmo"')
    )
    found = discover(plugin_dirs=[root], entry_points=False)
    assert [c.name for c in found.candidates] == ["good"]
    by_file = {p.file: p for p in found.problems}
    syntax = by_file[str(root / "syntax" / "plugin.toml")]
    assert syntax.code == "WF101"
    assert syntax.line == 3
    fields = by_file[str(root / "fields" / "plugin.toml")]
    assert (fields.code, fields.plugin, fields.line) == ("WF101", "fields", 4)
    assert "plugin.kind" in fields.message


def test_non_utf8_manifest_is_a_problem(tmp_path: Path) -> None:
    """A manifest that is not UTF-8 is a WF101 problem, not a crash."""
    folder = tmp_path / "latin"
    folder.mkdir()
    (folder / "plugin.toml").write_bytes(b'[plugin]\nname = "caf\xe9"\n')
    found = discover(plugin_dirs=[folder], entry_points=False)
    assert [p.code for p in found.problems] == ["WF101"]
    assert "UTF-8" in found.problems[0].message


def test_missing_plugin_dir_is_a_problem(tmp_path: Path) -> None:
    """A plugin_dirs entry that does not exist is reported (a typo should not pass silently)."""
    found = discover(plugin_dirs=[tmp_path / "nope"], entry_points=False)
    [problem] = found.problems
    assert problem.code == "WF101"
    assert "does not exist" in problem.message
    assert problem.file == str(tmp_path / "nope")


def test_plugin_dir_that_is_a_file_is_a_problem(tmp_path: Path) -> None:
    """A plugin_dirs entry that is a file is reported."""
    f = tmp_path / "file"
    f.write_text("x")
    assert [p.code for p in discover(plugin_dirs=[f], entry_points=False).problems] == ["WF101"]


def test_same_folder_listed_twice_is_scanned_once(tmp_path: Path) -> None:
    """Listing a folder twice (also via its parent) yields its plugin once, no duplicate."""
    root = tmp_path / "plugins"
    folder = plugin_folder(root, "a")
    found = discover(plugin_dirs=[root, folder, str(root)], entry_points=False)
    assert [c.name for c in found.candidates] == ["a"]
    assert found.problems == ()


def test_same_name_and_version_from_two_origins_is_wf104_naming_both(
    site: Path, tmp_path: Path
) -> None:
    """The same plugin at the same version, installed and in a folder, is WF104."""
    install_plugin(site, "twin", "1.0.0", dist="wf-twin")
    folder = plugin_folder(tmp_path / "plugins", "twin", "1.0.0")
    found = discover(plugin_dirs=[tmp_path / "plugins"])
    twins = [c for c in found.candidates if c.name == "twin"]
    assert {c.origin for c in twins} == {"dir", "entry-point"}
    [problem] = [p for p in found.problems if p.plugin == "twin"]
    assert problem.code == "WF104"
    assert str(folder) in problem.message
    assert "wf-twin==1.0.0" in problem.message
    assert resolve(found.candidates, want=["twin"]).selected["twin"].origin == "dir"


def test_two_folders_with_same_plugin_version_is_wf104(tmp_path: Path) -> None:
    """Two plugin folders offering the same name and version are a WF104 duplicate."""
    a = plugin_folder(tmp_path / "one", "dup", "1.0")
    b = plugin_folder(tmp_path / "two", "dup", "1.0")
    found = discover(plugin_dirs=[a, b], entry_points=False)
    assert [p.code for p in found.problems] == ["WF104"]
    assert str(a) in found.problems[0].message
    assert str(b) in found.problems[0].message


def test_different_versions_are_all_candidates_without_problems(site: Path, tmp_path: Path) -> None:
    """Different versions of a plugin from folders and installs are alternatives, not errors."""
    install_plugin(site, "multi", "1.0.0")
    plugin_folder(tmp_path / "plugins", "multi", "2.0.0")
    found = discover(plugin_dirs=[tmp_path / "plugins"])
    assert sorted(c.version for c in found.candidates if c.name == "multi") == ["1.0.0", "2.0.0"]
    assert not codes(found, "multi")
    assert [c.version for c in found.by_name()["multi"]] == ["2.0.0", "1.0.0"]


def test_direct_candidates_are_passed_through(tmp_path: Path) -> None:
    """Candidates handed in directly are part of the discovery, first."""
    direct = cand("embedded", "0.1")
    found = discover(direct=[direct], entry_points=False)
    assert found.candidates == (direct,)
