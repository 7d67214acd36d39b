"""SPEC §13 from outside: `wiseflow plugins test` checks that a processor keeps the ids and
sources of the records it changes.

Found from outside: the check compared against the set of all input ids and all input
sources, so a processor that moved a record to another input's source (relabelling
"sample" as "other", both present in the sample) passed, and the message said "ids and
sources kept". Each record out must now match one record in: its source and its id (or a
split's id starting with it).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from outside import plugin, wf

RELABEL = """\
    from wiseflow import ProcessorPlugin

    SWAP = {"sample": "other", "other": "sample"}


    class P(ProcessorPlugin):
        def process(self, batch):
            return [r.replace(source=SWAP.get(r.source, r.source)) for r in batch]
"""
KEEP = """\
    from wiseflow import ProcessorPlugin


    class P(ProcessorPlugin):
        def process(self, batch):  # a split: ids that start with the original's
            return [r.replace(id=f"{r.id}-{n}") for r in batch for n in (1, 2)]
"""
TOML = '[plugin]\nname = "{0}"\nversion = "1.0"\nkind = "processor"\nentry = "plugin:P"\n'


@pytest.mark.parametrize(
    ("name", "code", "ok"), [("relabel", RELABEL, False), ("split", KEEP, True)]
)
def test_c3_plugins_test_checks_each_record_keeps_its_source(
    tmp_path: Path, name: str, code: str, ok: bool
) -> None:
    plugin(tmp_path, name, TOML.format(name), code)
    done = wf("plugins", "test", name, "--level", "trusted", "--json", cwd=tmp_path)
    assert done.returncode == (0 if ok else 1), (done.stdout, done.stderr)
    doc = json.loads(done.stdout)
    (check,) = [c for c in doc["checks"] if c["name"] == "processor keeps ids"]
    assert (doc["ok"], check["ok"]) == (ok, ok), doc
    if not ok:
        assert "source" in check["message"], check
