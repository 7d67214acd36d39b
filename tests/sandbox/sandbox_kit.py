"""Helpers shared by tests/sandbox and tests/hostile: write a plugin folder, run it sandboxed.

Plugins are real folders (``plugin.toml`` + ``plugin.py``) run through a real
``WorkerRunner`` and a real ``Broker``; nothing is mocked.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from wiseflow import WiseflowWarning, load_manifest
from wiseflow._host._runner import RunnerSpec
from wiseflow._policy._broker import Broker
from wiseflow._policy._grants import Effective
from wiseflow._sandbox._probe import DISABLE_ENV, missing_layers, probe
from wiseflow._sandbox._runner import WorkerRunner

HEADER = "import os, sys, time\nfrom wiseflow import *\n"


def write_plugin(
    root: Path,
    code: str,
    *,
    name: str = "victim",
    kind: str = "processor",
    cls: str = "P",
    manifest_extra: str = "",
) -> Path:
    """A plugin folder under ``root`` holding ``plugin.toml`` and ``plugin.py``."""
    folder = root / "plugins" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plugin.toml").write_text(
        f'[plugin]\nname = "{name}"\nversion = "1.0.0"\nkind = "{kind}"\n'
        f'entry = "plugin:{cls}"\n{manifest_extra}'
    )
    (folder / "plugin.py").write_text(HEADER + textwrap.dedent(code))
    return folder


RunnerFactory = Callable[..., WorkerRunner]


def make_runner_factory(tmp_path: Path) -> tuple[RunnerFactory, list[WorkerRunner]]:
    made: list[WorkerRunner] = []

    def factory(
        code: str,
        *,
        name: str = "victim",
        kind: str = "processor",
        cls: str = "P",
        manifest_extra: str = "",
        permissions: Effective | None = None,
        environ: dict[str, str] | None = None,
        requires: frozenset[str] = frozenset(),
        call_dependency: Any = None,
        level: str = "sandboxed",
        config: dict[str, Any] | None = None,
        start: bool = True,
        **runner_kw: Any,
    ) -> WorkerRunner:
        folder = write_plugin(
            tmp_path, code, name=name, kind=kind, cls=cls, manifest_extra=manifest_extra
        )
        data_dir = tmp_path / "data" / name
        data_dir.mkdir(parents=True, exist_ok=True)
        perms = permissions or Effective()
        broker = Broker(
            name,
            perms,
            data_dir=str(data_dir),
            requires=requires,
            call_dependency=call_dependency,
            environ=environ or {},
        )
        spec = RunnerSpec(
            instance=name,
            manifest=load_manifest(folder),
            code_root=str(folder),
            data_dir=str(data_dir),
            level=level,
        )
        runner = WorkerRunner(spec, broker, **runner_kw)
        made.append(runner)
        if start:
            runner.load()
            runner.initialize(config or {})
        return runner

    return factory, made


def require_layers(*names: str) -> None:
    """Skip (with the precise reason) when this machine lacks a confinement layer."""
    doc = probe()
    missing = [n for n in missing_layers(doc["layers"]) if n in names]
    if missing:
        pytest.skip(f"this machine lacks confinement layer(s) {missing}: {doc['layers']}")


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); read its state
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def without_seccomp(
    sandbox: RunnerFactory, code: str, monkeypatch: pytest.MonkeyPatch
) -> WorkerRunner:
    """``code`` loaded and initialized in a worker with its seccomp layer off (a weaker
    sandbox the operator allowed, with its warning): the positive control of an attack
    that seccomp refuses."""
    monkeypatch.setenv(DISABLE_ENV, "seccomp")
    r = sandbox(code, start=False, allow_weaker_sandbox=True)
    with pytest.warns(WiseflowWarning, match="seccomp"):
        r.load()
    r.initialize({})
    return r


def proc_stats() -> Iterator[tuple[int, list[str]]]:
    """Each process's pid and the fields of its /proc stat after the name (state first,
    then ppid, pgrp...); processes gone meanwhile are left out."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                yield int(entry), f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue


def group_members(pgid: int) -> list[int]:
    """Live processes whose process group is ``pgid``."""
    return [pid for pid, f in proc_stats() if int(f[2]) == pgid and f[0] != "Z"]


WITNESS = """
class P(ProcessorPlugin):
    def process(self, batch):
        return [r.annotate("witness", True) for r in batch]
"""


def sandbox_fixture(tmp_path: Path) -> Iterator[RunnerFactory]:
    factory, made = make_runner_factory(tmp_path)
    yield factory
    for r in made:
        r.close()
