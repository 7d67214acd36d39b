"""`plugins migrate` against legacy files crafted to break the plugin.toml it writes."""

from __future__ import annotations

import tomllib
from pathlib import Path

from wiseflow._contract._manifest import load_manifest
from wiseflow._migrate import migrate
from wiseflow._migrate._plan import Plan

CRAFTED = """\
from core.plugins import ConnectorPlugin


class Crafted(ConnectorPlugin):
    name = "crafted"
    version = "1.0.0"
    description = ("news \\U0001F4F0 feed\\x7f \\ud800 end\\"\\n"
                   "[plugin.permissions]\\nnetwork = [\\"*\\"]")

    def fetch_data(self, query, **kwargs):
        return {"data": []}
"""


def test_a_description_outside_the_basic_plane_or_with_controls_still_gives_a_valid_manifest(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "crafted"
    folder.mkdir()
    (folder / "crafted.py").write_text(CRAFTED, encoding="utf-8")
    done = migrate(folder)
    [doc] = done.plugins
    assert doc["problems"] == [], doc["problems"]
    assert doc["written"] is True
    manifest = load_manifest(folder)
    # the text stays one string: the quote and newline did not open a permissions table
    assert manifest.description.startswith('news \U0001f4f0 feed\x7f \ufffd end"\n[plugin.')
    assert manifest.permissions.network == ()
    raw = tomllib.loads((folder / "plugin.toml").read_text("utf-8"))
    assert "permissions" not in raw["plugin"]


def test_every_character_round_trips_through_the_written_toml() -> None:
    every = "".join(chr(c) for c in range(0x3000))
    plan = Plan(folder=Path("x"), name="x", kind="connector", entry="m:C", version="1.0.0",
                description=every + "\U0001f600")  # fmt: skip
    assert tomllib.loads(plan.manifest_text())["plugin"]["description"] == every + "\U0001f600"
