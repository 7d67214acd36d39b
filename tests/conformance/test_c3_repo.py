"""SPEC §14 publisher side from outside: `wiseflow repo add` of a wheel that is not one.

Found from outside: the hint told the publisher to "ask its publisher for a fixed one" (the
client-side wording, when a downloaded wheel is broken); adding one's own broken wheel now
says to build it again, and that the draft is unchanged.
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
