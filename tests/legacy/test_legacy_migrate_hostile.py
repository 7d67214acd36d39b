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


def _fan_out(layers: int, width: int) -> str:
    """Classes whose local bases fan out ``width`` ways for ``layers`` layers, and never
    reach an original base: a reader walking every path takes width**layers steps."""
    lines = [
        "from core.plugins import ConnectorPlugin",
        "class Real(ConnectorPlugin):",
        "    def fetch_data(self, q):",
        "        return {}",
    ]
    for i in range(layers):
        bases = ", ".join(f"L{i + 1}_{j}" for j in range(width))
        lines += [f"class L{i}_{j}({bases}):\n    pass" for j in range(width)]
    lines += [f"class L{layers}_{j}(object):\n    pass" for j in range(width)]
    return "\n".join(lines) + "\n"


def test_a_class_graph_that_fans_out_is_read_in_linear_time(tmp_path: Path) -> None:
    # 4**20 paths: the reader used to walk each of them (hours); a visited set makes it
    # one step per class. No timing assertion: the test would simply never finish.
    folder = tmp_path / "fan"
    folder.mkdir()
    (folder / "fan.py").write_text(_fan_out(20, 4), encoding="utf-8")
    [doc] = migrate(folder, dry_run=True).plugins
    assert doc["problems"] == [], doc["problems"]
    assert doc["entry"] == "fan:Real" and doc["kind"] == "connector"


def test_a_source_too_deep_to_parse_is_reported_not_a_crash(tmp_path: Path) -> None:
    folder = tmp_path / "deep"
    folder.mkdir()
    real = "from core.plugins import ConnectorPlugin\n\nclass Real(ConnectorPlugin):\n    pass\n"
    (folder / "real.py").write_text(real, encoding="utf-8")
    (folder / "deep.py").write_text("x = " + "-" * 200_000 + "1\n", encoding="utf-8")
    [doc] = migrate(folder, dry_run=True).plugins
    assert doc["problems"] == [], doc["problems"]
    assert doc["entry"] == "real:Real"
    assert any(a.startswith("deep.py: does not parse") for a in doc["assumed"]), doc["assumed"]
