"""SPEC §9: each bundled plugin's config is checked before it runs; bad values are WF105.

Found from outside: counts that cannot mean anything (a negative ``top``, a page size of 0,
``checkpoint_every = 0``) were accepted and silently changed what a run produced, and
github's ``since`` was sent to the server unchecked and unescaped (a ``+02:00`` offset
arrived as a space).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from outside import failure, wf

import wiseflow.plugins.github as github
from wiseflow.testing import run_plugin

FILES = '[[sources]]\nplugin = "files"\nconfig = { root = "docs", patterns = ["*.txt"] }\n'

CASES = {
    "trends.top": FILES + '[[analyzers]]\nplugin = "trends"\nconfig = { top = -3 }\n',
    "trends.window": FILES + '[[analyzers]]\nplugin = "trends"\nconfig = { window = 0 }\n',
    "entities.top": FILES + '[[analyzers]]\nplugin = "entities"\nconfig = { top = -1 }\n',
    "files.checkpoint_every": '[[sources]]\nplugin = "files"\n'
    'config = { root = "docs", patterns = ["*"], checkpoint_every = 0 }\n',
    "git.max_commits": '[[sources]]\nplugin = "git"\nconfig = { max_commits = -1 }\n',
    "github.per_page": '[[sources]]\nplugin = "github"\nconfig = { repo = "a/b", per_page = 0 }\n',
    "github.since": '[[sources]]\nplugin = "github"\n'
    'config = { repo = "a/b", since = "yesterday" }\n',
    "debian-changelog.max_entries_per_file": '[[sources]]\nplugin = "debian-changelog"\n'
    "config = { max_entries_per_file = -1 }\n",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_c2_bad_bundled_config_value_is_wf105(tmp_path: Path, case: str) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("hello\n")
    (tmp_path / "p.toml").write_text('[pipeline]\nname = "p"\n\n' + CASES[case])
    error = failure(wf("run", "p.toml", "--json", cwd=tmp_path), "WF105", 2)
    assert case.split(".", 1)[1] in error["message"], error


def test_c2_github_since_reaches_the_server_as_written() -> None:
    asked: list[str] = []

    def server(request: object) -> tuple[int, dict[str, str], bytes]:
        asked.append(request.url.params["since"])  # type: ignore[attr-defined]
        return 200, {"content-type": "application/json"}, b"[]"

    since = "2024-01-01T00:00:00+02:00"
    run_plugin(
        Path(github.__file__).parent,
        {"repo": "a/b", "since": since},
        grants={"network": ["api.github.com:443"]},
        http=server,
    )
    assert asked == [since]
