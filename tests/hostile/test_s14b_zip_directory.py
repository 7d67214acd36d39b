"""A plugin wheel whose member list is the attack: too many members, or names too long.

``zipfile`` builds an object per member of the central directory when the zip is opened;
the wheel reader counted the members (at most 5,000) only after that. A repository's wheel
may be as large as its signed length allows, so a 24 MiB zip of 300,000 empty members
cost the host 156 MiB and a second before it was refused, and a wheel at the size bound
~1.7 GB. A member whose name has a part over 255 bytes passed every check and ended the
unpacking in a raw ``OSError`` (ENAMETOOLONG): an internal error (WF000).

Now ``_repo/_wheel`` reads the count and the list's size from the zip's end record (zip64
too) and refuses more than a plugin wheel may hold before ``zipfile`` parses the list,
and refuses a name part over 255 bytes (or deeper than 32 folders): WF603 (exit 3),
nothing unpacked.

Positive controls: with the end-record check off ``zipfile`` parses every member before
the late count refuses; with the name bound off the unpacking crashes on ENAMETOOLONG.
"""

from __future__ import annotations

import errno
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "repo"))

from repo_kit import make_wheel  # noqa: E402

from wiseflow._contract._errors import RepositoryError, WiseflowError, exit_code_for  # noqa: E402
from wiseflow._repo import _wheel  # noqa: E402
from wiseflow._repo._wheel import MAX_FILES, read_wheel, unpack_wheel  # noqa: E402

EXTRA = MAX_FILES + 1000


def _make(tmp_path: Path, names: list[str]) -> Path:
    good = make_wheel(tmp_path / "good", "evil", "1.0.0")
    path = tmp_path / "evil.whl"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w") as out:
        for info in src.infolist():
            out.writestr(info, src.read(info))
        for name in names:
            out.writestr(zipfile.ZipInfo(name), b"")
    return path


class _Opened:
    """Counts the members ``zipfile`` parsed, across every ZipFile opened."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.parsed: list[int] = []
        real = zipfile.ZipFile
        seen = self.parsed

        def opened(*a: Any, **kw: Any) -> zipfile.ZipFile:
            zf = real(*a, **kw)
            seen.append(len(zf.infolist()))
            return zf

        monkeypatch.setattr(zipfile, "ZipFile", opened)


@pytest.fixture
def crowded(tmp_path: Path) -> Path:
    return _make(tmp_path, [f"wfp_evil/d/{i:x}" for i in range(EXTRA)])


def test_too_many_members_are_refused_before_zipfile_parses_them(
    crowded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = make_wheel(tmp_path / "fine", "fine", "1.0.0")
    opened = _Opened(monkeypatch)
    for step in (lambda: read_wheel(crowded), lambda: unpack_wheel(crowded, tmp_path / "out")):
        with pytest.raises(RepositoryError) as err:
            step()
        assert err.value.code == "WF603" and exit_code_for("WF603") == 3
        assert f"more than {MAX_FILES} files" in err.value.message
    assert opened.parsed == [] and not [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    # the host goes on: a good wheel is read (and parsed) as before
    assert read_wheel(good).manifest.name == "fine" and opened.parsed == [6]


def test_control_without_the_end_record_check_every_member_is_parsed(
    crowded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = _Opened(monkeypatch)
    monkeypatch.setattr(_wheel, "_directory_bounds", lambda path, wheel: None)
    with pytest.raises(RepositoryError):
        read_wheel(crowded)
    assert opened.parsed == [EXTRA + 6]  # all parsed, then refused by the late count


def test_a_list_larger_than_a_plugins_is_refused_by_its_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = _make(tmp_path, [f"wfp_evil/{'n' * 200}{i}" for i in range(50)])
    monkeypatch.setattr(_wheel, "MAX_DIRECTORY", 8 << 10)  # the rule, not the 5 MB
    opened = _Opened(monkeypatch)
    with pytest.raises(RepositoryError) as err:
        read_wheel(wheel)
    assert err.value.code == "WF603" and "file list larger than" in err.value.message
    assert opened.parsed == []


LONG = "wfp_evil/" + "n" * 300 + ".py"


def test_a_name_too_long_for_the_file_system_is_WF603(tmp_path: Path) -> None:
    wheel = _make(tmp_path, [LONG])
    for step in (lambda: read_wheel(wheel), lambda: unpack_wheel(wheel, tmp_path / "out")):
        with pytest.raises(RepositoryError) as err:
            step()
        assert err.value.code == "WF603" and "too long" in err.value.message
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_file()]


def test_control_without_the_name_bound_unpacking_crashes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = _make(tmp_path, [LONG])
    monkeypatch.setattr(_wheel, "MAX_NAME_PART", 1 << 20)
    assert read_wheel(wheel).manifest.name == "evil"
    with pytest.raises(OSError) as err:
        unpack_wheel(wheel, tmp_path / "out")
    assert err.value.errno == errno.ENAMETOOLONG and not isinstance(err.value, WiseflowError)
