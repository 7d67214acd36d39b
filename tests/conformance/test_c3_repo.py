"""SPEC §14 publisher side from outside: `wiseflow repo add` of a wheel that is not one.

Found from outside: the hint told the publisher to "ask its publisher for a fixed one" (the
client-side wording, when a downloaded wheel is broken); adding one's own broken wheel now
says to build it again, and that the draft is unchanged. A pinned root
(``[repository] root``) that cannot be read was WF304 "signature invalid" (exit 3, refused
for security); it is the operator's path that is wrong: WF105 (exit 2) naming it.
"""

from __future__ import annotations

from pathlib import Path

from outside import failure, wf


def test_c3_adding_a_broken_wheel_says_what_the_publisher_does(tmp_path: Path) -> None:
    assert wf("repo", "init", "srv", cwd=tmp_path).returncode == 0
    (tmp_path / "x-1.0-py3-none-any.whl").write_text("not a zip\n")
    error = failure(wf("repo", "add", "srv", "x-1.0-py3-none-any.whl", "--json", cwd=tmp_path),
                    "WF603", 3)  # fmt: skip
    assert "ask its publisher" not in error["hint"] and "build" in error["hint"], error
    assert not [p for p in (tmp_path / "srv").rglob("*") if "x-1.0" in p.name]  # nothing added


def test_c3_a_pinned_root_that_is_not_there_is_bad_config(tmp_path: Path) -> None:
    (tmp_path / "srv").mkdir()
    (tmp_path / "wiseflow.toml").write_text(
        '[repository]\nurl = "srv"\nroot = "keys/no-such-root.json"\n'
    )
    error = failure(wf("plugins", "search", "text", "--json", cwd=tmp_path), "WF105", 2)
    assert "no-such-root.json" in error["message"] + str(error["plugin"]), error
