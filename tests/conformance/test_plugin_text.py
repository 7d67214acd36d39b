"""Plugin text is data (SPEC §11): what a terminal shows is what the plugin wrote, not
something the host's console library made of it (markup, hyperlinks, emoji codes)."""

from __future__ import annotations

import io
from pathlib import Path

from outside import plugin, project, wf

#: rich turns `:x:` into ❌ and `:warning:` into ⚠ unless told not to.
SHORTCODES = "call :x: then :warning: and :smiley:"
SHOWN = ("❌", "⚠", "😃")

RAISES = f"""\
    from wiseflow import ConnectorPlugin


    class Counter(ConnectorPlugin):
        def fetch(self, state):
            raise RuntimeError({SHORTCODES!r})
            yield
"""


def test_emoji_codes_in_plugin_text_are_shown_as_written(tmp_path: Path) -> None:
    plugin(
        tmp_path / "plugins",
        "counter",
        f"""\
        [plugin]
        name = "counter"
        version = "1.0"
        kind = "connector"
        entry = "plugin:Counter"
        description = "{SHORTCODES}"
        """,
        RAISES,
    )
    project(tmp_path, '[policy]\nlevel = "trusted"\n')
    info = wf("plugins", "info", "counter", cwd=tmp_path, columns=200)
    assert info.returncode == 0, info.stderr
    assert SHORTCODES in info.stdout, info.stdout
    run = wf("run", "p.toml", cwd=tmp_path, columns=200)
    assert run.returncode == 1, run.stderr
    assert SHORTCODES in run.stderr, run.stderr
    for shown in (info.stdout, run.stdout, run.stderr):
        assert not any(e in shown for e in SHOWN), shown
    # positive control: the same text through the same library with its defaults
    from rich.console import Console

    console = Console(record=True, width=200, file=io.StringIO())
    console.print(SHORTCODES)
    assert "❌" in console.export_text()
