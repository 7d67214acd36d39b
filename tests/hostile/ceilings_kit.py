"""A real project for the ceilings tests: folder plugins, a wiseflow.toml, a pipeline, a run.

``python ceilings_kit.py ROOT`` runs ROOT's pipeline in a fresh host process and prints the
run document with that process's peak RSS (``ru_maxrss``), so a test can judge what the
host paid for an attack without the figures of other tests in its own process.
"""

from __future__ import annotations

import json
import resource
import sys
import textwrap
from pathlib import Path
from typing import Any

CONNECTOR = """\
from wiseflow import ConnectorPlugin, Record

class P(ConnectorPlugin):
    def fetch(self, state):
        for i in range({n}):
            yield Record(id=f"r{{i}}", source=self.ctx.name, title=f"t{{i}}")
"""


def project(
    root: Path,
    plugins: dict[str, tuple[str, str]],
    *,
    policy: str = "",
    resources: dict[str, str] | None = None,
    batch_size: int = 4,
) -> Path:
    """Write ROOT/wiseflow.toml, ROOT/plugins/NAME/{plugin.toml,plugin.py} and ROOT/p.toml.

    ``plugins`` maps a name to (kind, code); ``resources`` maps a name to the TOML lines of
    its ``[plugin.resources]``. The pipeline runs every connector, then every processor.
    """
    (root / "wiseflow.toml").write_text(
        '[wiseflow]\nplugin_dirs = ["plugins"]\n[policy]\nlevel = "sandboxed"\n' + policy
    )
    stages = ""
    for name, (kind, code) in plugins.items():
        folder = root / "plugins" / name
        folder.mkdir(parents=True)
        res = (resources or {}).get(name)
        (folder / "plugin.toml").write_text(
            f'[plugin]\nname = "{name}"\nversion = "1.0"\nkind = "{kind}"\nentry = "plugin:P"\n'
            + (f"[plugin.resources]\n{res}\n" if res else "")
        )
        (folder / "plugin.py").write_text(textwrap.dedent(code))
        table = {"connector": "sources", "processor": "processors", "analyzer": "analyzers"}
        stages += f'[[{table[kind]}]]\nplugin = "{name}"\n'
    (root / "p.toml").write_text(f'[pipeline]\nname = "t"\nbatch_size = {batch_size}\n{stages}')
    return root


def run(root: Path) -> dict[str, Any]:
    """Run ROOT/p.toml in this process with ``wiseflow.run_pipeline``; the run document,
    plus each stage's state at the end and the run's dead letters."""
    from wiseflow import run_pipeline
    from wiseflow._store import Store

    result = run_pipeline(root / "p.toml", config=root / "wiseflow.toml", report="")
    doc = result.to_dict()
    with Store.open(root / ".wiseflow" / "wiseflow.db") as store:
        doc["dead"] = [
            {k: d[k] for k in ("record_id", "plugin", "code", "reason")}
            for d in store.dead_letters(result.run_id)
        ]
    doc["states"] = {name: p["state"] for name, p in doc["plugins"].items()}
    return doc


if __name__ == "__main__":
    out = run(Path(sys.argv[1]))
    out["host_maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out, default=str))
