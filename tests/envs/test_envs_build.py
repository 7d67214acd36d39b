"""Building environments: once per pinned set, atomically, and recorded in wiseflow.lock."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import msgspec
import pytest
from wheel_kit import make_wheel

from wiseflow._contract._errors import WiseflowError
from wiseflow._envs import (
    EnvSources,
    PythonEnv,
    build_env,
    built_env,
    remove_env,
    resolve_env,
    site_packages,
    worker_path,
)
from wiseflow._policy._envlock import attach
from wiseflow._policy._lock import Lock, LockEntry, load_lock, save_lock


def _entries(data: Path) -> list[str]:
    """Everything under ``data/envs`` (hidden leftovers included)."""
    root = data / "envs"
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_an_env_holds_exactly_its_pinned_set_and_is_shared(
    tmp_path: Path, sources: EnvSources
) -> None:
    """Built once under its key with the pinned versions; the same set reuses the folder."""
    data = tmp_path / "data"
    env = resolve_env(["wfhelper"], sources)
    said: list[str] = []
    folder = build_env(env, data, sources, progress=said.append)
    assert folder == data / "envs" / env.key
    assert any(line.startswith("building environment") for line in said)
    site = site_packages(folder)
    assert (site / "wfdemolib" / "__init__.py").read_text() == "__version__ = '2.0'\n"
    assert sorted(p.name for p in site.glob("*.dist-info")) == [
        "wfdemolib-2.0.dist-info",
        "wfhelper-0.5.dist-info",
    ]
    stamp = (site / "wfdemolib" / "__init__.py").stat().st_ino
    said.clear()
    again = resolve_env(["wfdemolib>=2", "wfhelper"], sources)  # another plugin, same set
    assert build_env(again, data, sources, progress=said.append) == folder
    assert said == [f"environment {env.key} already built (2 package(s)); shared"]
    assert (site / "wfdemolib" / "__init__.py").stat().st_ino == stamp  # not rebuilt
    other = build_env(resolve_env(["wfdemolib<2"], sources), data, sources)
    assert other != folder and _entries(data) == sorted([env.key, other.name])


def test_two_builds_of_one_set_at_once_end_with_one_env(
    tmp_path: Path, sources: EnvSources
) -> None:
    """Two installs building the same set together: both get the one folder, no leftovers."""
    data = tmp_path / "data"
    env = resolve_env(["wfhelper"], sources)
    results: list[Path | BaseException] = []

    def build() -> None:
        try:
            results.append(build_env(env, data, sources))
        except BaseException as exc:
            results.append(exc)

    threads = [threading.Thread(target=build) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert results == [data / "envs" / env.key] * 2
    assert _entries(data) == [env.key] and built_env(data, env) is not None


def test_a_tampered_wheel_fails_the_build_WF603_and_leaves_nothing(
    tmp_path: Path, wheels: Path, sources: EnvSources
) -> None:
    """A wheel replaced after resolution does not match the pinned hash: no env remains."""
    data = tmp_path / "data"
    env = resolve_env(["wfdemolib<2"], sources)
    make_wheel(wheels, "wfdemolib", "1.0", files={"wfdemolib/__init__.py": "EVIL = 1\n"})
    with pytest.raises(WiseflowError) as info:
        build_env(env, data, sources)
    assert info.value.code == "WF603"
    assert _entries(data) == [] and built_env(data, env) is None
    # positive control: the untampered wheel builds under the very same pins
    make_wheel(wheels, "wfdemolib", "1.0")
    assert build_env(env, data, sources).name == env.key


def test_a_build_that_fails_halfway_leaves_no_half_built_env(
    tmp_path: Path, wheels: Path, sources: EnvSources
) -> None:
    """The venv exists when the install fails (a corrupt wheel): the folder goes with it."""
    data = tmp_path / "data"
    env = resolve_env(["wfdemolib<2"], sources)
    corrupt = wheels / "wfdemolib-1.0-py3-none-any.whl"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    hashed = msgspec.structs.replace(
        env, hashes={"wfdemolib": "sha256:" + __import__("hashlib").sha256(
            corrupt.read_bytes()).hexdigest()},
    )  # fmt: skip
    with pytest.raises(WiseflowError):
        build_env(hashed, data, sources)
    assert _entries(data) == []


def test_leftovers_of_an_interrupted_build_are_swept_and_a_broken_folder_replaced(
    tmp_path: Path, sources: EnvSources
) -> None:
    """A .tmp folder of a dead process goes; a folder under the key without its marker
    (not a finished env) is never used and is replaced by a complete build."""
    data = tmp_path / "data"
    env = resolve_env(["wfdemolib<2"], sources)
    dead = os.fork()
    if dead == 0:
        os._exit(0)
    os.waitpid(dead, 0)
    (data / "envs" / f".tmp-{env.key}-{dead}-00000000" / "lib").mkdir(parents=True)
    (data / "envs" / env.key / "junk").mkdir(parents=True)
    assert built_env(data, env) is None
    with pytest.raises(WiseflowError) as info:
        worker_path(data, env, "p")
    assert info.value.code == "WF201"  # never built at run time: the plugin is refused
    folder = build_env(env, data, sources)
    assert _entries(data) == [env.key]
    assert not (folder / "junk").exists() and built_env(data, env) == folder
    assert worker_path(data, env, "p") == (str(site_packages(folder)),)
    remove_env(data, env.key)
    assert _entries(data) == []
    with pytest.raises(ValueError):
        remove_env(data, "../../etc")


def test_the_lock_records_an_env_and_reads_it_back(tmp_path: Path, sources: EnvSources) -> None:
    """attach() writes the entry's python table; a forged key in the lock is WF105."""
    lock_path = tmp_path / "wiseflow.lock"
    base = LockEntry(version="1.0.0", origin="folder:x", level="sandboxed", manifest="0" * 64)
    save_lock(Lock(plugins={"p": base}), lock_path)
    env = resolve_env(["wfhelper"], sources)
    attach(lock_path, "p", env)
    text = lock_path.read_text()
    assert '[plugins."p".python]' in text and '"wfdemolib==2.0"' in text
    assert load_lock(lock_path).plugins["p"].python == env
    attach(lock_path, "p", None)
    assert load_lock(lock_path).plugins["p"].python is None
    with pytest.raises(WiseflowError) as info:
        attach(lock_path, "q", env)
    assert info.value.code == "WF105"
    forged = msgspec.structs.replace(env, key="../../../../etc")
    save_lock(Lock(plugins={"p": msgspec.structs.replace(base, python=forged)}), lock_path)
    with pytest.raises(WiseflowError) as info:
        load_lock(lock_path)
    assert info.value.code == "WF105"
    assert isinstance(env, PythonEnv)
