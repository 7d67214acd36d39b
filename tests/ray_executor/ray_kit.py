"""Projects for the Ray executor's tests: folder plugins, a pipeline, its stored rows."""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path
from typing import Any

import wiseflow
from wiseflow._ray import ray_executor

SOURCE = """\
from wiseflow import Checkpoint, ConnectorPlugin, Record

class P(ConnectorPlugin):
    def fetch(self, state):
        for i in range({n}):
            yield Record(id=f"r{{i}}", source=self.ctx.name, title=f"word{{i % 5}} other")
        yield Checkpoint(state={{"done": True}})
"""

UPPER = """\
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    def process(self, batch):
        return [r.replace(title=r.title.upper()).annotate("n", len(r.title)) for r in batch]
"""

PIPE = """\
[pipeline]
name = "t"
batch_size = 5
[[sources]]
plugin = "src"
[[processors]]
plugin = "proc"
{analyzers}"""

WORDCOUNT = '[[analyzers]]\nplugin = "wordcount"\n'


def project(
    root: Path,
    proc: str,
    *,
    n: int = 30,
    level: str = "sandboxed",
    analyzers: str = WORDCOUNT,
    extra_config: str = "",
) -> Path:
    """A project under ``root``: wiseflow.toml, plugins ``src`` and ``proc``, ``p.toml``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "wiseflow.toml").write_text(
        f'[wiseflow]\nplugin_dirs = ["plugins"]\n[policy]\nlevel = "{level}"\n{extra_config}'
    )
    for name, code in (("src", SOURCE.format(n=n)), ("proc", proc)):
        kind = "connector" if name == "src" else "processor"
        folder = root / "plugins" / name
        folder.mkdir(parents=True)
        (folder / "plugin.toml").write_text(
            f'[plugin]\nname = "{name}"\nversion = "1.0"\nkind = "{kind}"\nentry = "plugin:P"\n'
        )
        (folder / "plugin.py").write_text(textwrap.dedent(code))
    (root / "p.toml").write_text(PIPE.format(analyzers=analyzers))
    return root


def run(root: Path, address: str | None, **kw: Any) -> wiseflow.RunResult:
    """Run ``root``'s pipeline, on the cluster at ``address`` (None: locally)."""
    config, data = root / "wiseflow.toml", root / ".wiseflow"
    if address is None:
        return wiseflow.run_pipeline(root / "p.toml", config=config, data_dir=data, **kw)
    with ray_executor(address):
        return wiseflow.run_pipeline(root / "p.toml", config=config, data_dir=data, **kw)


def rows(root: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(root / ".wiseflow" / "wiseflow.db") as db:
        return list(db.execute(sql))


def set_resources(root: Path, plugin: str, lines: str) -> None:
    """Add ``[plugin.resources]`` ``lines`` to ``plugin``'s manifest in the project ``root``."""
    manifest = root / "plugins" / plugin / "plugin.toml"
    manifest.write_text(manifest.read_text() + f"[plugin.resources]\n{lines}\n")


def actor_row(handle: Any) -> dict[str, Any]:
    """Ray's own record of an actor, read from its control store's actor table (GCS).

    ``required_resources`` is what the actor asked Ray for, ``node_id`` where Ray put it:
    what Ray holds, not what our runner meant to ask.
    """
    import ray
    from ray._private import state
    from ray.core.generated import gcs_pb2

    accessor = state.state._connect_and_get_accessor()
    raw = accessor.get_actor_info(ray.ActorID(handle._actor_id.binary()))
    assert raw is not None, "Ray has no record of the actor"
    data = gcs_pb2.ActorTableData.FromString(raw)
    return {
        "required_resources": dict(data.required_resources),
        "node_id": data.address.node_id.hex(),
        "state": gcs_pb2.ActorTableData.ActorState.Name(data.state),
        "pid": data.pid,
    }
