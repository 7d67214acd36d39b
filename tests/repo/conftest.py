"""Fixtures: a repository built once with `wiseflow repo ...`, copied and served per test."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from repo_kit import Project, copy_repo, make_wheel, serve, wf  # noqa: E402


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """textutil 1.0.0 (a processor), news 1.0.0 and 1.1.0 (a connector requiring textutil;
    1.1.0 asks for one more host)."""
    out = tmp_path_factory.mktemp("wheels")
    make_wheel(out, "textutil", "1.0.0", kind="processor")
    make_wheel(out, "news", "1.0.0", requires={"textutil": ">=1"}, network=("example.org:443",))
    make_wheel(out, "news", "1.1.0", requires={"textutil": ">=1"},
               network=("example.org:443", "api.example.org:443"))  # fmt: skip
    return out


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, wheels: Path) -> Path:
    """A repository made by the CLI as a publisher would: init, add, publish."""
    base = tmp_path_factory.mktemp("published")
    served = base / "served"
    for args in (
        ("repo", "init", str(served)),
        ("repo", "add", str(served), str(wheels / "wfp_textutil-1.0.0-py3-none-any.whl"),
         str(wheels / "wfp_news-1.0.0-py3-none-any.whl")),
        ("repo", "publish", str(served)),
    ):  # fmt: skip
        done = wf(*args, cwd=base)
        assert done.returncode == 0, done.stderr
    return served


@pytest.fixture
def project(tmp_path: Path, built: Path) -> Iterator[Project]:
    """A copy of the built repository served over HTTP on 127.0.0.1, and a project using it."""
    served = copy_repo(built, tmp_path / "served")
    folder = tmp_path / "project"
    folder.mkdir()
    with serve(served) as url:
        yield Project(folder, served, url)
    shutil.rmtree(tmp_path / "served.keys", ignore_errors=True)
