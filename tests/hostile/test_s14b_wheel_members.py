"""A plugin wheel that names one path twice, or one path as a file and as a folder.

A zip may hold two members with one name (``wfp_x/__init__.py`` twice, or ``a//b`` beside
``a/b``), and zip readers disagree on which copy wins: Python's ``ZipFile.getinfo`` and
``read`` return the last, an extractor writing with ``O_EXCL`` keeps the first, others
overwrite. A publisher (or whoever made the wheel) can so show a reviewer one module and
ship another. The installer checked each member's path but not that each path came once:
unpacking such a wheel (or one with ``wfp_x/m`` as a file and ``wfp_x/m/y.py`` under it)
ended in a raw ``FileExistsError``, an "internal error" (WF000) with no word on the wheel.
Member names with control characters (an escape sequence) were unpacked as they were.

Now ``_repo/_wheel`` claims each path once (``a//b`` is ``a/b``) and refuses a name with
control characters: WF603 (exit 3), nothing unpacked, and a good wheel still installs.

Positive control: with the claim switched off the same wheel reads as valid and its
unpacking dies on the raw ``FileExistsError`` (not a wiseflow error).
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "repo"))

from repo_kit import make_wheel  # noqa: E402

from wiseflow._contract._errors import RepositoryError, WiseflowError, exit_code_for  # noqa: E402
from wiseflow._repo import _wheel  # noqa: E402
from wiseflow._repo._wheel import read_wheel, unpack_wheel  # noqa: E402

EVIL = b"raise SystemExit('the second copy ran')\n"


def _make(tmp_path: Path, extra: list[tuple[str, bytes]]) -> Path:
    good = make_wheel(tmp_path / "good", "evil", "1.0.0")
    path = tmp_path / "evil.whl"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w") as out:
        for info in src.infolist():
            out.writestr(info, src.read(info))
        for name, data in extra:
            out.writestr(zipfile.ZipInfo(name), data)
    return path


CASES = [
    ("twice", [("wfp_evil/__init__.py", EVIL)], "twice"),
    ("twice_slashes", [("wfp_evil//__init__.py", EVIL)], "twice"),
    ("file_then_folder", [("wfp_evil/m", b"x"), ("wfp_evil/m/y.py", EVIL)], "twice"),
    ("folder_under_file", [("wfp_evil/__init__.py/z.py", EVIL)], "twice"),
    ("control_chars", [("wfp_evil/\x1b]0;owned\x07x.py", EVIL)], "control characters"),
]


@pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")
@pytest.mark.parametrize(("case", "extra", "what"), CASES, ids=[c[0] for c in CASES])
def test_a_path_given_twice_is_refused_WF603_and_nothing_is_unpacked(
    tmp_path: Path, case: str, extra: list[tuple[str, bytes]], what: str
) -> None:
    wheel = _make(tmp_path, extra)
    with pytest.raises(RepositoryError) as err:
        read_wheel(wheel)
    assert err.value.code == "WF603" and what in err.value.message, case
    assert exit_code_for(err.value.code) == 3
    assert "\x1b" not in str(err.value) and "\x07" not in str(err.value)
    dest = tmp_path / "stage" / "evil-1.0.0"
    with pytest.raises(RepositoryError) as err2:
        unpack_wheel(wheel, dest)
    assert err2.value.code == "WF603"
    assert not [p for p in dest.rglob("*") if p.is_file()]
    # the host goes on: a good wheel reads and unpacks in the same process
    good = make_wheel(tmp_path / "again", "fine", "1.0.0")
    assert read_wheel(good).manifest.name == "fine"
    unpack_wheel(good, tmp_path / "fine")
    assert (tmp_path / "fine" / "wfp_fine" / "plugin.toml").is_file()


@pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")
def test_control_without_the_claim_the_wheel_reads_and_unpacking_crashes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = _make(tmp_path, CASES[0][1])
    with zipfile.ZipFile(wheel) as zf:  # the reader's view: the last copy
        assert zf.read("wfp_evil/__init__.py") == EVIL
    monkeypatch.setattr(_wheel, "_claim", lambda *a, **k: None)
    assert read_wheel(wheel).manifest.name == "evil"
    with pytest.raises(FileExistsError) as err:
        unpack_wheel(wheel, tmp_path / "stage")
    assert not isinstance(err.value, WiseflowError)
    # the extractor's view: the first copy, not the one a reader was shown
    assert (tmp_path / "stage" / "wfp_evil" / "__init__.py").read_bytes() != EVIL
