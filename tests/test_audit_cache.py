"""Audit verdicts cached by content: a changed file is audited again, a bad entry never trusted."""

from __future__ import annotations

import textwrap
from pathlib import Path

import msgspec
import pytest

from wiseflow import AuditRefused
from wiseflow._contract._manifest import load_manifest
from wiseflow._host._manager import PluginManager
from wiseflow._policy._audit import FindingsCache, audit_plugin
from wiseflow._policy._audit import _cache as audit_cache
from wiseflow._policy._operator import OperatorConfig, Policy

HOSTILE = "import ctypes\n"  # native-code, critical: refused at every threshold but none
CLEAN = "import json\n"


def write(root: Path, code: str, name: str = "p") -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plugin.toml").write_text(
        f'[plugin]\nname = "{name}"\nversion = "1"\nkind = "processor"\nentry = "plugin:P"\n'
    )
    (folder / "plugin.py").write_text(
        textwrap.dedent(code)
        + "\nfrom wiseflow import ProcessorPlugin\n"
        + "class P(ProcessorPlugin):\n    def process(self, batch):\n        return batch\n"
    )
    return folder


def rules(folder: Path, cache: FindingsCache | None) -> set[str | None]:
    return {p.rule for p in audit_plugin(load_manifest(folder), folder, cache)}


def test_a_cached_verdict_is_the_same_as_a_fresh_one(tmp_path: Path) -> None:
    """The second audit of an unchanged plugin reads the cache and finds the same."""
    folder = write(tmp_path, HOSTILE)
    cache = FindingsCache(tmp_path / "cache")
    fresh = audit_plugin(load_manifest(folder), folder)
    first = audit_plugin(load_manifest(folder), folder, cache)
    second = audit_plugin(load_manifest(folder), folder, cache)
    assert (cache.misses, cache.hits) == (1, 1)
    assert fresh == first == second and {p.rule for p in second} == {"native-code"}


def test_a_changed_file_is_audited_again(tmp_path: Path) -> None:
    """A clean file cached, then changed to hostile code: the new text is walked."""
    folder = write(tmp_path, CLEAN)
    cache = FindingsCache(tmp_path / "cache")
    assert rules(folder, cache) == set()
    write(tmp_path, HOSTILE)
    assert rules(folder, cache) == {"native-code"}
    assert (cache.misses, cache.hits) == (2, 0)


def test_new_audit_rules_are_a_new_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The key holds a digest of the audit's own code: other rules never read old verdicts."""
    folder = write(tmp_path, CLEAN)
    cache = FindingsCache(tmp_path / "cache")
    rules(folder, cache)
    monkeypatch.setattr(audit_cache, "rules_digest", lambda: "other rules")
    rules(folder, cache)
    assert (cache.misses, cache.hits) == (2, 0)


def test_an_unreadable_audit_caches_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the audit's own code cannot be read (no rules version), every file is walked
    and nothing is remembered."""
    folder = write(tmp_path, HOSTILE)
    cache = FindingsCache(tmp_path / "cache")

    def unreadable() -> str:
        raise PermissionError("the audit's sources")

    monkeypatch.setattr(audit_cache, "rules_digest", unreadable)
    assert rules(folder, cache) == rules(folder, cache) == {"native-code"}
    assert not (tmp_path / "cache").exists()


def _clean_entry(key: str) -> bytes:
    return msgspec.msgpack.encode([audit_cache.FORMAT, key, []])


@pytest.mark.parametrize(
    "corrupt",
    [
        pytest.param(lambda key, good: b"\x00garbage", id="garbage"),
        pytest.param(lambda key, good: good[:-3], id="truncated"),
        pytest.param(lambda key, good: _clean_entry("0" * 64), id="another-files-entry"),
        pytest.param(
            lambda key, good: msgspec.msgpack.encode(
                [audit_cache.FORMAT, key, [["x", "harmless", "m", 1, ""]]]
            ),
            id="unknown-severity",
        ),
        pytest.param(
            lambda key, good: msgspec.msgpack.encode([audit_cache.FORMAT + 1, key, []]),
            id="other-format",
        ),
        pytest.param(
            lambda key, good: _clean_entry(key) + b"\x00" * audit_cache.MAX_ENTRY, id="oversized"
        ),
    ],
)
def test_a_corrupt_entry_is_ignored_and_rewritten(tmp_path: Path, corrupt: object) -> None:
    """An entry saying "nothing found" for hostile code, in every broken form: the file is
    audited again (still refused) and the entry rewritten with the true verdict."""
    folder = write(tmp_path, HOSTILE)
    cache = FindingsCache(tmp_path / "cache")
    assert rules(folder, cache) == {"native-code"}
    (entry,) = (tmp_path / "cache").iterdir()
    good = entry.read_bytes()
    entry.write_bytes(corrupt(entry.name, good))  # type: ignore[operator]
    assert rules(folder, cache) == {"native-code"}
    assert (cache.misses, cache.hits) == (2, 0)
    assert entry.read_bytes() == good


def test_control_a_well_formed_entry_is_what_the_cache_trusts(tmp_path: Path) -> None:
    """Positive control for the test above: a well-formed entry under the file's own key
    is believed, so what keeps the verdict honest is its folder, which no sandboxed
    plugin can write (see the manager test below) and every broken entry being refused."""
    folder = write(tmp_path, HOSTILE)
    cache = FindingsCache(tmp_path / "cache")
    rules(folder, cache)
    (entry,) = (tmp_path / "cache").iterdir()
    entry.write_bytes(_clean_entry(entry.name))
    assert rules(folder, cache) == set()


def test_the_manager_keeps_verdicts_in_its_cache_folder(tmp_path: Path) -> None:
    """A manager with a cache remembers the files it audited under data_dir/cache/audit,
    outside every plugin's data dir; a refused plugin is refused again from the cache;
    a manager without a cache writes nothing."""
    write(tmp_path / "plugins", HOSTILE, name="bad")
    write(tmp_path / "plugins", CLEAN, name="good")
    config = OperatorConfig(policy=Policy(level="trusted"))
    for attempt in range(2):
        pm = PluginManager(
            config, plugin_dirs=[tmp_path / "plugins"], data_dir=tmp_path / "d", cache=True
        )
        try:
            with pytest.raises(AuditRefused) as info:
                pm.load("bad")
            assert info.value.code == "WF302" and info.value.problems[0].rule == "native-code"
            assert pm.start("good").state.value == "ACTIVE"
        finally:
            pm.close()
        assert len(list((tmp_path / "d" / "cache" / "audit").iterdir())) == 2, attempt
    audit_dir = (tmp_path / "d" / "cache" / "audit").resolve()
    assert not audit_dir.is_relative_to((tmp_path / "d" / "plugins").resolve())
    pm = PluginManager(
        config, plugin_dirs=[tmp_path / "plugins"], data_dir=tmp_path / "e", cache=False
    )
    try:
        pm.start("good")
    finally:
        pm.close()
    assert not (tmp_path / "e" / "cache").exists()


PLANTER = """
import errno
from wiseflow import ProcessorPlugin


class P(ProcessorPlugin):
    def process(self, batch):
        return batch

    def plant(self, path):
        try:
            with open(path, "wb") as f:
                f.write(b"planted")
        except OSError as exc:
            return exc.errno
        return 0
"""


def test_a_sandboxed_plugin_cannot_plant_a_verdict(tmp_path: Path) -> None:
    """The attack the cache's place guards against: a sandboxed plugin writing an entry
    into data_dir/cache/audit is refused by the kernel (the folder exists: the manager
    audited the plugin itself into it); the control, its own data dir, is writable."""
    folder = tmp_path / "plugins" / "planter"
    folder.mkdir(parents=True)
    (folder / "plugin.toml").write_text(
        '[plugin]\nname = "planter"\nversion = "1"\nkind = "processor"\nentry = "plugin:P"\n'
    )
    (folder / "plugin.py").write_text(PLANTER)
    pm = PluginManager(
        OperatorConfig(policy=Policy(level="sandboxed")),
        plugin_dirs=[tmp_path / "plugins"],
        data_dir=tmp_path / "d",
        cache=True,
    )
    try:
        handle = pm.start("planter")
        audit_dir = tmp_path / "d" / "cache" / "audit"
        (entry,) = audit_dir.iterdir()
        before = entry.read_bytes()
        assert handle.invoke("plant", str(entry)) in (1, 13)  # EPERM / EACCES
        assert handle.invoke("plant", str(audit_dir / ("0" * 64))) in (1, 13)
        assert entry.read_bytes() == before and len(list(audit_dir.iterdir())) == 1
        own = Path(handle.runner.spec.data_dir) / "x"  # type: ignore[attr-defined]
        assert handle.invoke("plant", str(own)) == 0 and own.read_bytes() == b"planted"
        assert handle.state.value == "ACTIVE"
    finally:
        pm.close()


def test_the_cache_keeps_a_bounded_number_of_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plugin edited again and again: past MAX_ENTRIES the older half goes, and the
    newest verdict stays readable."""
    monkeypatch.setattr(audit_cache, "MAX_ENTRIES", 8)
    cache = FindingsCache(tmp_path / "cache")
    for i in range(12):
        folder = write(tmp_path / str(i), f"X = {i}\n" + HOSTILE)
        assert rules(folder, cache) == {"native-code"}
    assert 4 <= len(list((tmp_path / "cache").iterdir())) <= 8
    assert rules(folder, cache) == {"native-code"} and cache.hits == 1
