"""The discovery cache: nothing re-read when nothing changed, always correct when it did."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import msgspec
import pytest

import wiseflow
from conftest_discovery import age, install_plugin, manifest_text, plugin_folder
from wiseflow._contract._manifest import Manifest
from wiseflow._discovery import Discovery, discover
from wiseflow._discovery._cache import ManifestResult


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty site directory first on ``sys.path``."""
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.setattr(sys, "path", [str(path), *sys.path])
    return path


@pytest.fixture
def plugins(tmp_path: Path) -> Path:
    root = tmp_path / "plugins"
    root.mkdir()
    return root


def run(plugins: Path, cache: Path) -> Discovery:
    return discover(plugin_dirs=[plugins], cache_dir=cache)


BUNDLED = str(Path(wiseflow.__file__).parent)


def names(found: Discovery) -> dict[str, str]:
    """Found plugins, apart from those wiseflow itself ships."""
    return {
        c.name: c.version
        for c in found.candidates
        if not (c.manifest.path or "").startswith(BUNDLED)
    }


def test_second_discovery_reads_no_file_when_nothing_changed(
    site: Path, plugins: Path, tmp_path: Path
) -> None:
    """With nothing changed, the second run re-reads and re-parses no file at all."""
    for i in range(5):
        install_plugin(site, f"inst{i}")
        plugin_folder(plugins, f"dir{i}")
    age(site, plugins)
    cache = tmp_path / "cache"
    cold = run(plugins, cache)
    warm = run(plugins, cache)
    assert cold.stats.cache == "cold"
    assert cold.stats.parsed >= 15  # 5 x (entry_points.txt, plugin.toml) + 5 folders
    assert warm.stats.cache == "hit"
    assert (warm.stats.parsed, warm.stats.verified) == (0, 0)
    assert warm.candidates == cold.candidates
    assert warm.problems == cold.problems


def test_cached_and_uncached_discovery_agree(site: Path, plugins: Path, tmp_path: Path) -> None:
    """The cache changes how much is read, never what is found (problems included)."""
    install_plugin(site, "good")
    (plugins / "bad").mkdir()
    (plugins / "bad" / "plugin.toml").write_text("[plugin]\nname = 1\n")
    plain = discover(plugin_dirs=[plugins])
    run(plugins, tmp_path / "cache")
    cached = run(plugins, tmp_path / "cache")
    assert plain.stats.cache == "off"
    assert cached.stats.parsed == 0
    assert (cached.candidates, cached.problems) == (plain.candidates, plain.problems)


def test_fresh_files_are_checked_by_content_so_same_tick_edits_are_seen(
    plugins: Path, tmp_path: Path
) -> None:
    """A manifest rewritten with the same size and mtime is still seen (racy-file digest)."""
    folder = plugin_folder(plugins, "racy", "1.0.0")
    manifest = folder / "plugin.toml"
    cache = tmp_path / "cache"
    run(plugins, cache)
    st = manifest.stat()
    manifest.write_text(manifest.read_text().replace("1.0.0", "1.0.1"))
    os.utime(manifest, ns=(st.st_atime_ns, st.st_mtime_ns))  # as if within one clock tick
    assert manifest.stat().st_size == st.st_size
    found = run(plugins, cache)
    assert names(found) == {"racy": "1.0.1"}
    again = run(plugins, cache)
    assert again.stats.parsed == 0
    assert again.stats.verified == 1


def test_added_folder_plugin_is_found_and_only_it_is_parsed(plugins: Path, tmp_path: Path) -> None:
    """A plugin folder added after caching is found; the others come from the cache."""
    plugin_folder(plugins, "a")
    age(plugins)
    cache = tmp_path / "cache"
    run(plugins, cache)
    plugin_folder(plugins, "b")
    found = discover(plugin_dirs=[plugins], entry_points=False, cache_dir=cache)
    assert names(found) == {"a": "1.0.0", "b": "1.0.0"}
    assert (found.stats.cache, found.stats.parsed) == ("partial", 1)


def test_changed_manifest_is_reread(plugins: Path, tmp_path: Path) -> None:
    """A manifest edited after caching is read again (new version, new requirements)."""
    folder = plugin_folder(plugins, "a", "1.0.0")
    age(plugins)
    cache = tmp_path / "cache"
    run(plugins, cache)
    (folder / "plugin.toml").write_text(manifest_text("a", "2.0.0", entry="a_code:Plugin"))
    assert names(run(plugins, cache)) == {"a": "2.0.0"}


def test_manifest_broken_after_caching_becomes_a_problem(plugins: Path, tmp_path: Path) -> None:
    """A manifest that breaks after caching is reported, not served stale from the cache."""
    folder = plugin_folder(plugins, "a")
    cache = tmp_path / "cache"
    run(plugins, cache)
    (folder / "plugin.toml").write_text("[plugin\n")
    found = run(plugins, cache)
    assert names(found) == {}
    assert [p.code for p in found.problems if p.file and str(plugins) in p.file] == ["WF101"]


def test_removed_plugin_disappears(site: Path, plugins: Path, tmp_path: Path) -> None:
    """Removing a plugin folder or uninstalling a distribution removes its candidate."""
    plugin_folder(plugins, "a")
    plugin_folder(plugins, "b")
    pkg = install_plugin(site, "inst", dist="wf-inst")
    cache = tmp_path / "cache"
    assert names(run(plugins, cache)) == {"a": "1.0.0", "b": "1.0.0", "inst": "1.0.0"}
    shutil.rmtree(plugins / "b")
    shutil.rmtree(pkg)
    shutil.rmtree(site / "wf_inst-1.0.0.dist-info")
    assert names(run(plugins, cache)) == {"a": "1.0.0"}


def test_added_distribution_is_found(site: Path, plugins: Path, tmp_path: Path) -> None:
    """A distribution installed after caching is found on the next discovery."""
    install_plugin(site, "first")
    age(site)
    cache = tmp_path / "cache"
    run(plugins, cache)
    install_plugin(site, "second")
    found = run(plugins, cache)
    assert names(found) == {"first": "1.0.0", "second": "1.0.0"}
    assert found.stats.cache == "partial"


def test_reinstalled_distribution_with_same_name_is_reread(
    site: Path, plugins: Path, tmp_path: Path
) -> None:
    """Reinstalling the same dist-info name with new contents is seen (new files, new stamps)."""
    install_plugin(site, "re", "1.0.0", dist="wf-re")
    age(site)
    cache = tmp_path / "cache"
    run(plugins, cache)
    shutil.rmtree(site / "re_pkg")
    install_plugin(site, "re", "1.0.0", dist="wf-re", requires={"other": ">=1"})
    [c] = [c for c in run(plugins, cache).candidates if c.name == "re"]
    assert [r.name for r in c.manifest.requires] == ["other"]


def test_new_sys_path_entry_is_scanned(
    plugins: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A directory added to sys.path after caching is scanned."""
    cache = tmp_path / "cache"
    run(plugins, cache)
    extra = tmp_path / "extra"
    install_plugin(extra, "late")
    monkeypatch.setattr(sys, "path", [str(extra), *sys.path])
    assert "late" in names(run(plugins, cache))


def test_corrupt_cache_file_is_ignored_and_rewritten(plugins: Path, tmp_path: Path) -> None:
    """A damaged cache file means a cold run, never an error or a wrong answer."""
    plugin_folder(plugins, "a")
    cache = tmp_path / "cache"
    run(plugins, cache)
    [file] = list(cache.iterdir())
    file.write_bytes(b"\x00garbage")
    found = run(plugins, cache)
    assert found.stats.cache == "cold"
    assert names(found) == {"a": "1.0.0"}
    assert run(plugins, cache).stats.cache == "hit"


def test_unwritable_cache_dir_does_not_break_discovery(plugins: Path, tmp_path: Path) -> None:
    """When the cache cannot be written, discovery still answers."""
    plugin_folder(plugins, "a")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    found = discover(plugin_dirs=[plugins], cache_dir=blocker / "cache")
    assert names(found) == {"a": "1.0.0"}


def test_no_cache_dir_writes_nothing(plugins: Path, tmp_path: Path) -> None:
    """Without cache_dir there is no cache: stats say 'off' and no file appears."""
    plugin_folder(plugins, "a")
    before = set(tmp_path.rglob("*"))
    found = discover(plugin_dirs=[plugins])
    assert found.stats.cache == "off"
    assert set(tmp_path.rglob("*")) == before


def test_cached_second_run_is_faster_than_cold(site: Path, plugins: Path, tmp_path: Path) -> None:
    """Measured: with 100 installed plugins, a cached run parses nothing and takes less time."""
    for i in range(100):
        install_plugin(site, f"p{i}")
    age(site)
    cache = tmp_path / "cache"
    t0 = time.perf_counter()
    cold = run(plugins, cache)
    t1 = time.perf_counter()
    warm = run(plugins, cache)
    t2 = time.perf_counter()
    assert warm.stats.parsed == 0
    assert warm.stats.reused >= 200  # entry_points.txt and plugin.toml of each
    assert len(warm.candidates) == len(cold.candidates)
    print(f"cold {1000 * (t1 - t0):.1f} ms, cached {1000 * (t2 - t1):.1f} ms")


def test_cached_manifest_keeps_every_field() -> None:
    """A manifest stored in the cache comes back identical (no field lost or stale)."""
    m = Manifest(name="a", version="1", kind="connector", entry="a:B", path="/x/plugin.toml")
    raw = msgspec.msgpack.encode(ManifestResult(manifest=m))
    assert msgspec.msgpack.decode(raw, type=ManifestResult).manifest == m


def test_hostile_manifest_files_never_hang_or_crash_discovery(tmp_path: Path) -> None:
    """A FIFO, a link to /dev/zero or a huge file as plugin.toml is a WF101, found quickly."""
    import os

    from wiseflow._discovery import discover

    for name, make in (
        ("fifo", lambda p: os.mkfifo(p)),
        ("zero", lambda p: os.symlink("/dev/zero", p)),
        ("huge", lambda p: p.write_bytes(b"#" * (2 << 20))),
    ):
        folder = tmp_path / "plugins" / name
        folder.mkdir(parents=True)
        make(folder / "plugin.toml")
    found = discover(plugin_dirs=[tmp_path / "plugins"], entry_points=False)
    assert found.candidates == ()
    bad = sorted(p.file or p.message for p in found.problems if p.code == "WF101")
    assert len(bad) == 3, found.problems
