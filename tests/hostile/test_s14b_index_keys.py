"""A repository whose signed index gives a plugin a version no one can parse, or a name that
is no plugin name (escape sequences in it).

The index (``index.json``) is a TUF target the repository's own keys sign: TUF proves who
wrote it, not that it is sane. The client checked its shape (msgspec) but not its keys: a
version key ``"not a version"`` ended ``plugins search`` (and ``--json``) in an internal
error (WF000, exit 4, "report it") for every plugin of that repository, and a plugin name
was any string. ``repo publish`` signed such a draft, and a draft that did not decode ended
it in WF000 too.

Now ``_repo/_index.load_index`` refuses an index naming an invalid plugin name or a
version that is not PEP 440: the repository's index is "not valid", said
plainly (WF600, the code this client gave an index that does not decode),
nothing is installed, and ``repo publish`` refuses such a draft (WF105).

Positive control: the same client with the key check switched off (in process) crashes on
the same index as before (WF000).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "repo"))

from repo_kit import Project, make_wheel, serve, snapshot, wf  # noqa: E402

from wiseflow._contract._errors import exit_code_for  # noqa: E402
from wiseflow._repo import _index  # noqa: E402
from wiseflow._repo._publish import add_wheels, init_repo, publish  # noqa: E402

BAD = {
    "version": ("news", "not a version", "not a PEP 440 version"),
    "name": ("\x1b]0;owned\x07Evil_Name", "1.0.0", "not a valid plugin name"),
}


@pytest.fixture(params=sorted(BAD))
def hostile(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Project, str]]:
    """A repository (published in process) whose signed index holds one bad key."""
    name, version, said = BAD[request.param]
    served = tmp_path / "served"
    init_repo(served)
    add_wheels(served, [make_wheel(tmp_path / "wheels", "news", "1.0.0", description="ok")])
    draft = tmp_path / "served.draft.json"
    doc = json.loads(draft.read_text())
    entry = doc["plugins"]["news"]["1.0.0"]
    doc["plugins"].setdefault(name, {})[version] = dict(entry)
    draft.write_text(json.dumps(doc))
    # the publisher's tool refuses the draft ...
    done = wf("repo", "publish", str(served), cwd=tmp_path)
    assert done.returncode == 2 and "error WF105" in done.stderr and said in done.stderr
    # ... a hostile publisher signs it anyway
    with monkeypatch.context() as m:
        m.setattr(_index, "_check_keys", lambda doc: None)
        publish(served)
    folder = tmp_path / "project"
    folder.mkdir()
    with serve(served) as url:
        yield Project(folder, served, url), said


def test_an_index_with_a_bad_key_is_refused_as_not_valid(hostile: tuple[Project, str]) -> None:
    project, said = hostile
    before = snapshot(project.folder)
    code, out, err = project.wf("plugins", "search")
    assert code == exit_code_for("WF600") == 4, err
    assert err.startswith("error WF600: the index of repository") and said in err
    assert "WF000" not in err and "\x1b" not in err and "\x07" not in err and not out
    code, doc = project.json("plugins", "search")
    assert code == 4 and doc["error"]["code"] == "WF600"  # type: ignore[index]
    code, _, err = project.wf("plugins", "install", "news", "--yes")
    assert code == 4 and "error WF600" in err
    assert snapshot(project.folder) == before
    # the host is fine: the same project still answers its other commands
    code, doc = project.json("plugins", "list")
    assert code == 0, doc


def test_control_without_the_check_search_crashes(
    hostile: tuple[Project, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project, said = hostile
    from wiseflow._cli import main

    monkeypatch.chdir(project.folder)
    monkeypatch.setattr(_index, "_check_keys", lambda doc: None)
    with pytest.raises(SystemExit) as ended:
        main(["plugins", "search", "--json"])
    out = capsys.readouterr().out
    if said == BAD["name"][2]:
        # a bad name alone is listed (bounded and made safe by the table), not a crash:
        # the check is what keeps it out
        assert ended.value.code == 0 and "Evil_Name" in out
    else:
        assert ended.value.code == 4 and json.loads(out)["error"]["code"] == "WF000"
