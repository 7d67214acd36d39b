"""An update killed (SIGKILL) in the middle of its commit: the next install, update or
remove (or any command that opens the plugins, `run` included) undoes it (the lock was not
written yet) or finishes it (it was)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from repo_kit import Project

#: `wiseflow plugins update`, killed by SIGKILL around the lock write (``WHEN``).
KILLED = """\
import os, signal, sys
import wiseflow._repo._apply as ap

real, when = ap.save_lock, sys.argv[1]
def killed(lock):
    if when == "after":
        real(lock)
    os.kill(os.getpid(), signal.SIGKILL)

ap.save_lock = killed
from wiseflow._cli import main
sys.argv = ["wiseflow", "plugins", "update"]
main()
"""


def _update_killed(project: Project, when: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", KILLED, when], cwd=project.folder, capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == -signal.SIGKILL, done.stderr


def _installed(project: Project) -> list[str]:
    return sorted(p.name for p in (project.folder / "state" / "installed").iterdir())


def _with_news_110(project: Project, wheels: Path) -> None:
    code, doc = project.json("plugins", "install", "news", "--yes")
    assert code == 0, doc
    project.publisher("add", str(project.served), str(wheels / "wfp_news-1.1.0-py3-none-any.whl"))
    project.publisher("publish", str(project.served))


def test_killed_before_the_lock_is_written_the_next_update_undoes_then_updates(
    project: Project, wheels: Path
) -> None:
    _with_news_110(project, wheels)
    lock_before = (project.folder / "wiseflow.lock").read_text()
    _update_killed(project, "before")
    # positive control: the state the kill left: installed.json names 1.1.0, the lock 1.0.0
    assert (project.folder / "wiseflow.lock").read_text() == lock_before
    installed = (project.folder / "state" / "installed" / "installed.json").read_text()
    assert '"version": "1.1.0"' in installed and 'version = "1.1.0"' not in lock_before
    assert (project.folder / "state" / "repository" / "commit.json").is_file()

    # the next command that opens the plugins (here `info`) puts the old state back
    code, out, err = project.wf("plugins", "info", "news")
    assert code == 0 and "interrupted was undone" in err, out + err
    assert "news 1.0.0" in out and "CHANGED" not in out and "verified" in out, out
    assert _installed(project) == ["installed.json", "news-1.0.0", "textutil-1.0.0"]

    code, out, err = project.wf("plugins", "update")
    assert code == 0, err
    assert "installed news 1.1.0 (was 1.0.0)" in out, out
    code, out, err = project.wf("plugins", "info", "news")
    assert code == 0 and "1.1.0" in out and "CHANGED" not in out and "verified" in out, out
    assert _installed(project) == ["installed.json", "news-1.1.0", "textutil-1.0.0"]
    assert not (project.folder / "state" / "repository" / "commit.json").exists()


def test_killed_after_the_lock_is_written_the_next_command_finishes_it(
    project: Project, wheels: Path
) -> None:
    _with_news_110(project, wheels)
    _update_killed(project, "after")
    # positive control: committed, but the replaced version's folder is still there
    assert "news-1.0.0" in _installed(project)
    assert (project.folder / "state" / "repository" / "commit.json").is_file()

    code, out, err = project.wf("plugins", "update")
    assert code == 0, err
    assert "interrupted was finished" in err and "everything is up to date" in out, out + err
    assert _installed(project) == ["installed.json", "news-1.1.0", "textutil-1.0.0"]
    assert not (project.folder / "state" / "repository" / "commit.json").exists()
