"""``wiseflow.run_pipeline`` inside a program that has its own ways: the program survives.

The embedding program restores SIGPIPE's default (the idiom of command-line tools: a write
to a closed pipe kills it), installs its own SIGINT, SIGTERM and SIGUSR1 handlers, keeps a
secret in a module global, and calls ``run_pipeline`` from a thread of its own. Its
sandboxed plugins attack: one looks for the program's secret (``sys.modules["__main__"]``),
another signals its parent with SIGPIPE, SIGUSR1 and SIGTERM, then closes its stdout, its
stderr and its channel to the host. The program lives on with its own handlers, none of
which ran; the wrecker's run fails with WF402 naming it; the secret stayed out of reach.

Positive control: the same peeker, configured ``trusted`` (in the host process, by the
operator's choice), does read the program's secret.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from cli_kit import SOURCE, project

PEEKER = """
import sys
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    def process(self, batch):
        vault = getattr(sys.modules.get("__main__"), "VAULT", None)
        return [r.annotate("vault", str(vault)) for r in batch]
"""

WRECKER = """
import os, signal
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    def process(self, batch):
        tried = {}
        for sig in (signal.SIGPIPE, signal.SIGUSR1, signal.SIGTERM):
            try:
                getattr(os, "kill")(os.getppid(), sig)
                tried[sig.name] = "sent"
            except OSError as exc:
                tried[sig.name] = exc.errno
        print(tried, flush=True)
        for fd in range(1, 64):  # stdout, stderr, the channel: the host reads a dead end
            try:
                os.close(fd)
            except OSError:
                pass
        return batch
"""

PIPELINE = """\
[pipeline]
name = "{name}"
[[sources]]
plugin = "innocent"
[[processors]]
plugin = "{name}"
"""

EMBEDDER = """
import json, signal, sqlite3, sys, threading
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
caught = []
mine = {sig: (lambda s, f: caught.append(s)) for sig in (signal.SIGINT, signal.SIGTERM,
                                                         signal.SIGUSR1)}
for sig, handler in mine.items():
    signal.signal(sig, handler)
VAULT = {"embedder_secret": "s3cr3t-of-the-embedder"}

import wiseflow

out = {}

def go():
    for name in ("peeker", "wrecker"):
        result = wiseflow.run_pipeline(name + ".toml").to_dict()
        out[name] = {"status": result["status"],
                     "errors": [[e["code"], e["plugin"]] for e in result["errors"]]}

worker = threading.Thread(target=go)
worker.start()
worker.join(240)
db = sqlite3.connect(".wiseflow/wiseflow.db")
out["vault"] = [json.loads(a).get("vault") for (a,) in
                db.execute("SELECT annotations FROM records WHERE source = 'innocent'")]
out["handlers_kept"] = all(signal.getsignal(s) is h for s, h in mine.items())
out["sigpipe_default"] = signal.getsignal(signal.SIGPIPE) == signal.SIG_DFL
out["caught"] = caught
print(json.dumps(out))
"""


def _embed(root: Path, level: str) -> dict[str, object]:
    """The embedding program's report (it printed one JSON line, or died)."""
    project(
        root, {"innocent": ("connector", SOURCE), "peeker": ("processor", PEEKER),
               "wrecker": ("processor", WRECKER)},
        PIPELINE.format(name="peeker"),
        toml_extra=f'audit_block = "critical"\n[plugins.peeker]\nlevel = "{level}"\n',
    )  # fmt: skip
    for name in ("peeker", "wrecker"):
        (root / f"{name}.toml").write_text(PIPELINE.format(name=name))
    res = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(EMBEDDER)], cwd=root, capture_output=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert res.returncode == 0, (res.returncode, res.stderr.decode(errors="replace")[-2000:])
    doc = json.loads(res.stdout.decode().strip().splitlines()[-1])
    assert isinstance(doc, dict)
    return doc


def test_an_embedding_program_survives_its_sandboxed_plugins(tmp_path: Path) -> None:
    got = _embed(tmp_path, "sandboxed")
    assert got["handlers_kept"] is True and got["sigpipe_default"] is True
    assert got["caught"] == []  # none of the program's handlers ran
    assert got["vault"] and set(got["vault"]) == {"None"}  # type: ignore[arg-type]
    assert got["peeker"] == {"status": "ok", "errors": []}
    wrecked = got["wrecker"]
    assert isinstance(wrecked, dict) and wrecked["status"] != "ok"
    assert {tuple(e) for e in wrecked["errors"]} == {("WF402", "wrecker")}


def test_positive_control_a_trusted_peeker_reads_the_programs_secret(tmp_path: Path) -> None:
    got = _embed(tmp_path, "trusted")
    assert got["vault"] and set(got["vault"]) == {  # type: ignore[arg-type]
        "{'embedder_secret': 's3cr3t-of-the-embedder'}"
    }
