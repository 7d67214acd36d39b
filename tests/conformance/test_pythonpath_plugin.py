"""An installed plugin the host finds through PYTHONPATH (a distribution unpacked in a folder
on it) runs sandboxed too. Workers start isolated (``python -I`` ignores PYTHONPATH): before,
``plugins check`` passed and ``run`` failed with WF102 (entry module not found)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from outside import COUNTER, wf


def _distribution(site: Path) -> None:
    """``site/pp_counter/`` (plugin.toml inside the package) and its dist-info."""
    pkg = site / "pp_counter"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "source.py").write_text(textwrap.dedent(COUNTER))
    (pkg / "plugin.toml").write_text(
        '[plugin]\nname = "pp-counter"\nversion = "1.0"\nkind = "connector"\n'
        'entry = "pp_counter.source:Counter"\n'
    )
    info = site / "pp_counter-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pp-counter\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[wiseflow.plugins]\npp-counter = pp_counter.source:Counter\n"
    )


def test_a_plugin_on_pythonpath_runs_sandboxed(tmp_path: Path) -> None:
    _distribution(tmp_path / "site")
    env = {"PYTHONPATH": str(tmp_path / "site")}
    (tmp_path / "wiseflow.toml").write_text('[policy]\nlevel = "sandboxed"\n')
    (tmp_path / "p.toml").write_text(
        '[pipeline]\nname = "p"\n[[sources]]\nplugin = "pp-counter"\nconfig = { count = 3 }\n'
    )
    listed = json.loads(wf("plugins", "list", "--json", cwd=tmp_path, env=env).stdout)
    (row,) = [p for p in listed["plugins"] if p["name"] == "pp-counter"]
    assert row["origin"] == "entry-point", row
    done = wf("run", "p.toml", "--json", cwd=tmp_path, env=env)
    assert done.returncode == 0, (done.stdout, done.stderr)
    doc = json.loads(done.stdout)
    assert doc["status"] == "ok" and doc["records"]["stored"] == 3, doc
