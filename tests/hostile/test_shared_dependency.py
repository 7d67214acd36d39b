"""Shared dependency state: two plugins talking to one helper they both require.

``alpha`` holds a secret (granted through wiseflow.toml) and hands it to the ``keeper``
processor it requires; ``bravo`` has no grants and requires ``keeper`` too. Before identity
both talked to one ``keeper@deps`` instance: bravo read alpha's secret back through
``ctx.plugin("keeper")`` and planted data alpha then read. Now each dependent gets its own
``keeper@<dependent>``: nothing passes between them, in memory or in the helper's data dir.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from identity_kit import Project, sha

from wiseflow import Record
from wiseflow._host._manager import PluginManager, dependency_instance
from wiseflow._policy._operator import load_operator_config

TOKEN = "alpha-token-8812"
PLANTED = "planted-by-bravo"

KEEPER = """\
class P(ProcessorPlugin):
    # keeps what it is given between calls: in memory and in a file of its data dir
    def initialize(self, ctx):
        super().initialize(ctx)
        self.kept = []

    def process(self, batch):
        store = self.ctx.data_dir / "kept.txt"
        out = []
        for r in batch:
            if r.kind == "put":
                self.kept.append(r.text)
                with open(store, "a") as f:
                    f.write(r.text + "\\n")
            else:
                on_disk = store.read_text().splitlines() if store.exists() else []
                for i, v in enumerate(sorted(set(self.kept) | set(on_disk))):
                    out.append(Record(id=f"{r.id}-{i}", source=r.source, text=v))
        return out
"""
DEPENDENT = """\
import hashlib

class P(ConnectorPlugin):
    def fetch(self, state):
        keeper = self.ctx.plugin("keeper")
        {give}
        got = keeper.process([Record(id="get", source=self.ctx.name, kind="get")])
        for i, r in enumerate(got):
            yield Record(id=str(i), source=self.ctx.name, title="{name}-saw",
                         text=hashlib.sha256(r.text.encode()).hexdigest())
"""
ALPHA_GIVES = (
    'keeper.process([Record(id="put", source=self.ctx.name, kind="put",\n'
    '                               text=self.ctx.secret("ALPHA_TOKEN"))])'
)
BRAVO_GIVES = (
    f'keeper.process([Record(id="put", source=self.ctx.name, kind="put", text="{PLANTED}")])'
)
REQUIRES = '[plugin.requires]\nkeeper = ">=1"\n'
ALPHA_ASKS = '[plugin.permissions]\nenv = ["ALPHA_TOKEN"]\n'
CONFIG = '[plugins.alpha]\ngrant.env = ["ALPHA_TOKEN"]\n'
PIPELINE = """\
[pipeline]
name = "shared"

[[sources]]
plugin = "alpha"

[[sources]]
plugin = "bravo"
"""


@pytest.fixture
def project(tmp_path: Path) -> Project:
    project = Project(tmp_path, CONFIG)
    project.plugin("keeper", name="keeper", kind="processor", code=KEEPER)
    project.plugin(
        "alpha", name="alpha", manifest_extra=REQUIRES + ALPHA_ASKS,
        code=DEPENDENT.format(give=ALPHA_GIVES, name="alpha"),
    )  # fmt: skip
    project.plugin(
        "bravo", name="bravo", manifest_extra=REQUIRES,
        code=DEPENDENT.format(give=BRAVO_GIVES, name="bravo"),
    )  # fmt: skip
    project.pipeline(PIPELINE)
    return project


def test_a_plugin_cannot_read_another_ones_secret_through_a_shared_helper(
    project: Project,
) -> None:
    """bravo reads back only what it gave the helper; alpha never sees bravo's planted data."""
    res, doc = project.run(env={"ALPHA_TOKEN": TOKEN})

    assert res.returncode == 0, doc
    assert project.records("alpha") == [("alpha-saw", sha(TOKEN))]
    assert project.records("bravo") == [("bravo-saw", sha(PLANTED))]
    # each dependent had a helper of its own, with its own data dir
    alpha_dir = project.state / "plugins" / dependency_instance("keeper", "alpha")
    bravo_dir = project.state / "plugins" / dependency_instance("keeper", "bravo")
    assert (alpha_dir / "kept.txt").read_text() == TOKEN + "\n"
    assert (bravo_dir / "kept.txt").read_text() == PLANTED + "\n"


def test_the_helper_does_hold_the_secret_and_would_leak_it_if_shared(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Positive control: alpha's helper instance holds the secret; calls through it leak it."""
    monkeypatch.setenv("ALPHA_TOKEN", TOKEN)
    config = load_operator_config(project.root / "wiseflow.toml")
    with PluginManager(config, cache=False, data_dir=project.state) as pm:
        alpha = pm.start("alpha")
        assert [r.text for r in alpha.fetch(None) if isinstance(r, Record)] == [sha(TOKEN)]
        bravo = pm.start("bravo")
        assert [r.text for r in bravo.fetch(None) if isinstance(r, Record)] == [sha(PLANTED)]

        # what bravo would read if it talked to alpha's helper: the secret itself
        shared = pm.get(dependency_instance("keeper", "alpha"))
        leaked = shared.process([Record(id="get", source="bravo", kind="get")])
        assert [r.text for r in leaked] == [TOKEN]
        own = pm.get(dependency_instance("keeper", "bravo"))
        assert [r.text for r in own.process([Record(id="get", source="b", kind="get")])] == [
            PLANTED
        ]
        assert shared is not own


def test_a_newer_folder_cannot_stand_in_for_an_approved_plugins_dependency(
    project: Project,
) -> None:
    """alpha is approved; a `keeper` 99 dropped in another plugin dir never gets its secret."""
    project.plugin_dirs = ("plugins", "more")
    project.configure(CONFIG)
    assert project.wf("plugins", "grant", "alpha").returncode == 0
    project.plugin(
        "keeper", name="keeper", kind="processor", version="99.0.0", code=KEEPER,
        marker="impostor", instances=(dependency_instance("keeper", "alpha"),),
        where=project.root / "more",
    )  # fmt: skip

    res, doc = project.run(env={"ALPHA_TOKEN": TOKEN})

    assert res.returncode == 0, doc
    assert project.records("alpha") == [("alpha-saw", sha(TOKEN))]
    impostor = project.data_marker(dependency_instance("keeper", "alpha"), "impostor")
    assert Project.marks(impostor) == []  # the impostor never served alpha
