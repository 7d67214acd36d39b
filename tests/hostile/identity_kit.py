"""Helpers for the identity attacks: a project folder driven through the real CLI.

A :class:`Project` is a temp folder holding ``wiseflow.toml`` (``data_dir = "state"``,
``plugin_dirs = ["plugins"]``), plugin folders written by the test and pipeline files.
Every command runs as ``python -m wiseflow ...`` in a subprocess, as an operator would.

Attacking plugins carry an import marker (:func:`marker_prelude`): module-level code that
appends a line to each of a few files when the module is imported. One file is under
``<project>/markers/`` (only the host can write there: a sandboxed worker cannot), the
other in the plugin instance's data dir (the one place a worker may write). Each line
says whether the importing process was the host (``wiseflow._host._manager`` loaded) or not.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path
from typing import Any

__all__ = ["Project", "marker_prelude", "sha", "wf"]


def wf(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m wiseflow ARGS`` in ``cwd``, with ``env`` added to this environment."""
    return subprocess.run(
        [sys.executable, "-m", "wiseflow", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **(env or {})},
    )


def sha(text: str) -> str:
    """What an attacking plugin reports instead of a secret (the host masks secret values)."""
    return hashlib.sha256(text.encode()).hexdigest()


def marker_prelude(paths: list[Path]) -> str:
    """Module-level code appending ``<pid> host=<bool>`` to each of ``paths`` on import."""
    return textwrap.dedent(
        f"""\
        import os as _os, sys as _sys
        for _p in {[str(p) for p in paths]!r}:
            try:
                _os.makedirs(_os.path.dirname(_p), exist_ok=True)
                with open(_p, "a") as _f:
                    _host = "wiseflow._host._manager" in _sys.modules
                    _f.write(f"{{_os.getpid()}} host={{_host}}\\n")
            except OSError:
                pass
        """
    )


class Project:
    """A wiseflow project folder in ``root`` (see the module docstring)."""

    def __init__(
        self, root: Path, config: str = "", *, plugin_dirs: tuple[str, ...] = ("plugins",)
    ) -> None:
        self.root = root
        self.plugin_dirs = plugin_dirs
        self.state = root / "state"
        self.plugins = root / "plugins"
        self.plugins.mkdir(parents=True, exist_ok=True)
        # a project that has run before: probes (`plugins check`) keep their worker's files
        # in it, where data_marker() looks (without it they get a temporary folder)
        self.state.mkdir(exist_ok=True)
        self.configure(config)

    def configure(self, extra: str) -> None:
        """(Re)write wiseflow.toml: the fixed [wiseflow] table plus ``extra``."""
        (self.root / "wiseflow.toml").write_text(
            f"[wiseflow]\nplugin_dirs = {json.dumps(list(self.plugin_dirs))}\n"
            f'data_dir = "state"\n\n{textwrap.dedent(extra)}'
        )

    def host_marker(self, tag: str) -> Path:
        """Written only by a process that is not confined to its data dir (the host)."""
        return self.root / "markers" / tag

    def data_marker(self, instance: str, tag: str) -> Path:
        """Written by the plugin's code wherever it runs (its own data dir)."""
        return self.state / "plugins" / instance / tag

    def plugin(
        self,
        folder: str,
        *,
        name: str,
        code: str,
        kind: str = "connector",
        version: str = "1.0.0",
        cls: str = "P",
        manifest_extra: str = "",
        marker: str | None = None,
        instances: tuple[str, ...] = (),
        where: Path | None = None,
    ) -> Path:
        """Write ``<where or plugins>/<folder>/`` with plugin.toml and plugin.py.

        ``marker``: a tag; the module then records its import in ``markers/<tag>`` and in
        ``state/plugins/<instance>/<tag>`` for each of ``instances`` (default: ``name``).
        """
        path = (where or self.plugins) / folder
        path.mkdir(parents=True, exist_ok=True)
        (path / "plugin.toml").write_text(
            f'[plugin]\nname = "{name}"\nversion = "{version}"\nkind = "{kind}"\n'
            f'entry = "plugin:{cls}"\napi = ">=1,<2"\n' + textwrap.dedent(manifest_extra)
        )
        prelude = ""
        if marker is not None:
            paths = [self.host_marker(marker)]
            paths += [self.data_marker(i, marker) for i in instances or (name,)]
            prelude = marker_prelude(paths)
        (path / "plugin.py").write_text(
            prelude + "from wiseflow import *\n" + textwrap.dedent(code)
        )
        return path

    def pipeline(self, text: str, file: str = "p.toml") -> str:
        (self.root / file).write_text(textwrap.dedent(text))
        return file

    def wf(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return wf(*args, cwd=self.root, env=env)

    def run(
        self, pipeline: str = "p.toml", *, env: dict[str, str] | None = None
    ) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
        """``wiseflow run PIPELINE --json`` on a fresh store: (process, its JSON document).

        The store is removed first, so that :meth:`records` holds what this run stored.
        """
        for suffix in ("", "-wal", "-shm"):
            (self.state / f"wiseflow.db{suffix}").unlink(missing_ok=True)
        res = self.wf("run", pipeline, "--json", env=env)
        assert "Traceback" not in res.stderr, res.stderr
        return res, json.loads(res.stdout)

    def rows(self) -> list[dict[str, Any]]:
        """``plugins list --json`` rows."""
        res = self.wf("plugins", "list", "--json")
        assert res.returncode == 0, res.stderr
        rows: list[dict[str, Any]] = json.loads(res.stdout)["plugins"]
        return rows

    def lock(self) -> dict[str, Any]:
        return tomllib.loads((self.root / "wiseflow.lock").read_text())

    def records(self, source: str) -> list[tuple[str, str]]:
        """(title, text) of the records of ``source`` the last :meth:`run` stored, by id."""
        db = sqlite3.connect(self.state / "wiseflow.db")
        try:
            query = "select title, text from records where source = ? order by id"
            return list(db.execute(query, (source,)))
        finally:
            db.close()

    @staticmethod
    def marks(path: Path) -> list[str]:
        """Lines of a marker file (empty when the module was never imported there)."""
        return path.read_text().splitlines() if path.exists() else []
