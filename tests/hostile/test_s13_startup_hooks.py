"""Start-up hooks shipped in a plugin's folder never run: sitecustomize, usercustomize, .pth.

Python runs ``sitecustomize.py`` and ``usercustomize.py`` found on its path at start-up,
and every line of a ``.pth`` file starting with ``import`` in a site directory. A plugin
folder ships all three, each writing a marker file where only the host (or a worker not
yet confined) could. ``plugins list/check/audit/info``, ``plugins grant`` and a sandboxed
``run`` must leave no marker: the host never puts a plugin folder on its own path, and the
worker starts isolated (``-I``) and adds the folder only after it is confined, without
reading it as a site directory.

Positive control: the same files do write their markers in a fresh interpreter that reads
the folder as a site directory (``site.addsitedir``) and imports the two modules, as
start-up would with the folder on its path.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_kit import PIPELINE, SOURCE, project, wf

HOOKS = ("sitecustomize", "usercustomize", "pth")


def _plant(folder: Path, markers: Path) -> None:
    for name in ("sitecustomize", "usercustomize"):
        (folder / f"{name}.py").write_text(f"open({str(markers / name)!r}, 'w').write('ran')\n")
    (folder / "zz_hook.pth").write_text(
        f"import os; open({str(markers / 'pth')!r}, 'w').write('ran')\n"
    )


@pytest.fixture
def planted(tmp_path: Path) -> tuple[Path, Path]:
    markers = tmp_path / "markers"
    markers.mkdir()
    (tmp_path / "p").mkdir()
    root = project(
        tmp_path / "p", {"innocent": ("connector", SOURCE),
                         "attacker": ("processor", PROCESSOR)}, PIPELINE,
    )  # fmt: skip
    _plant(root / "plugins" / "attacker", markers)
    return root, markers


PROCESSOR = """
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    def process(self, batch):
        return batch
"""


def test_hooks_in_a_plugin_folder_never_run(planted: tuple[Path, Path]) -> None:
    """Vetting, approving and running the plugin leaves no marker; the run itself works."""
    root, markers = planted
    for args in (
        ("plugins", "list"), ("plugins", "check", "attacker"), ("plugins", "audit", "attacker"),
        ("plugins", "info", "attacker"), ("plugins", "grant", "attacker", "--all"),
        ("run", "p.toml"),
    ):  # fmt: skip
        res = wf(*args, cwd=root)
        assert res.returncode == 0, (args, res.stdout + res.stderr)
        assert sorted(os.listdir(markers)) == [], args


def test_positive_control_the_hooks_are_live_python(planted: tuple[Path, Path]) -> None:
    """A fresh interpreter that reads the folder as a site dir runs all three."""
    root, markers = planted
    folder = root / "plugins" / "attacker"
    code = f"import site; site.addsitedir({str(folder)!r}); import sitecustomize, usercustomize"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert sorted(os.listdir(markers)) == sorted(HOOKS)
