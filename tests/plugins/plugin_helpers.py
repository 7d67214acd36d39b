"""Helpers shared by the plugin tests (importable by name, unlike conftest)."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from types import ModuleType

FIXTURES = Path(__file__).parent.parent / "fixtures"


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, FIXTURES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


make_changelogs = _module("make_changelogs")
replay_server = _module("replay_server")


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    base = {
        "GIT_AUTHOR_NAME": "Ada Lovelace", "GIT_AUTHOR_EMAIL": "ada@example.org",
        "GIT_COMMITTER_NAME": "Ada Lovelace", "GIT_COMMITTER_EMAIL": "ada@example.org",
        "HOME": str(repo), "PATH": "/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM": "1",
    }  # fmt: skip
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, env={**base, **(env or {})}
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def commit(repo: Path, name: str, content: str, message: str, date: str) -> None:
    (repo / name).write_text(content)
    git(repo, "add", name)
    git(
        repo,
        "commit",
        "-q",
        "-m",
        message,
        env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date},
    )
