"""Which candidate a name belongs to: the admission rules of plugin identity (SPEC §10)."""

from __future__ import annotations

from wiseflow import Manifest
from wiseflow._discovery import Candidate
from wiseflow._policy._identity import admit, content_digest, origin_of
from wiseflow._policy._lock import Lock, LockEntry

BUNDLED = "entry-point:wiseflow"


def cand(origin: str, where: str = "", *, name: str = "hello", version: str = "1.0.0") -> Candidate:
    m = Manifest(name=name, version=version, kind="connector", entry="plugin:P")
    if origin == "entry-point":
        return Candidate(manifest=m, origin=origin, location=f"{where or 'wiseflow'}==0.1.0")
    if origin == "direct":
        return Candidate(manifest=m, origin=origin, location="<direct>")
    return Candidate(manifest=m, origin="dir", location=where, code_root=where)


def locked(name: str, origin: str) -> Lock:
    entry = LockEntry(version="1.0.0", origin=origin, level="sandboxed", manifest="0" * 64)
    return Lock(plugins={name: entry})


def run_admit(
    candidates: list[Candidate],
    *,
    configured: tuple[str, ...] = (),
    lock: Lock | None = None,
    pins: dict[str, str] | None = None,
) -> tuple[list[str], list[str], dict[str, tuple[str, str]]]:
    """(admitted origins, refused origins, owners)."""
    pins = pins or {}
    got = admit(
        candidates,
        configured=configured,
        lock=lock or Lock(),
        pinned=pins.get,
        matches_pin=lambda pin, c: pin in (c.origin, origin_of(c)),
    )
    return (
        [origin_of(c) for c in got.candidates],
        [origin_of(c) for c, _ in got.refused],
        got.owner,
    )


def test_origins_name_where_the_code_comes_from() -> None:
    """entry-point:<dist>, dir:<folder>, direct:<entry>."""
    assert origin_of(cand("entry-point")) == BUNDLED
    assert origin_of(cand("dir", "/srv/p/hello")) == "dir:/srv/p/hello"
    assert origin_of(cand("direct")) == "direct:plugin:P"


def test_an_unconfigured_name_keeps_the_ordinary_rule() -> None:
    """Nobody configured or approved `hello`: every candidate goes on to resolution."""
    both = [cand("entry-point"), cand("dir", "/p/hello", version="9")]
    admitted, refused, owner = run_admit(both)
    assert admitted == [BUNDLED, "dir:/p/hello"]
    assert refused == [] and owner == {}


def test_a_configured_name_belongs_to_the_most_deliberate_origin() -> None:
    """`[plugins.hello]` exists: the installed one keeps it; a folder, any version, is refused."""
    for version in ("99.0.0", "1.0.0", "0.1.0"):
        admitted, refused, owner = run_admit(
            [cand("dir", "/p/hello", version=version), cand("entry-point")], configured=("hello",)
        )
        assert admitted == [BUNDLED]
        assert refused == ["dir:/p/hello"]
        assert owner == {"hello": (BUNDLED, "configured")}


def test_a_configured_name_offered_only_by_folders_goes_to_the_first_folder() -> None:
    """Two folders claim a configured name: the first in plugin_dirs order keeps it."""
    admitted, refused, _ = run_admit(
        [cand("dir", "/a/hello"), cand("dir", "/b/hello", version="2")], configured=("hello",)
    )
    assert (admitted, refused) == (["dir:/a/hello"], ["dir:/b/hello"])


def test_a_configured_name_with_one_candidate_is_simply_admitted() -> None:
    """Configuring a name that only one origin offers refuses nothing."""
    admitted, refused, owner = run_admit([cand("dir", "/a/hello")], configured=("hello",))
    assert (admitted, refused, owner) == (["dir:/a/hello"], [], {})


def test_a_locked_name_belongs_to_the_approved_origin() -> None:
    """The lock wins over "most deliberate": an approved folder keeps its name."""
    admitted, refused, owner = run_admit(
        [cand("entry-point"), cand("dir", "/a/hello")],
        configured=("hello",),
        lock=locked("hello", "dir:/a/hello"),
    )
    assert (admitted, refused) == (["dir:/a/hello"], [BUNDLED])
    assert owner == {"hello": ("dir:/a/hello", "locked")}


def test_a_locked_name_refuses_even_when_unconfigured() -> None:
    """Approval alone settles the name: a new folder claiming it is refused."""
    admitted, refused, _ = run_admit(
        [cand("entry-point"), cand("dir", "/a/hello", version="99")],
        lock=locked("hello", BUNDLED),
    )
    assert (admitted, refused) == ([BUNDLED], ["dir:/a/hello"])


def test_a_pin_overrides_the_lock_and_drops_others_without_refusing() -> None:
    """`origin = ...` picks one origin; the others are not that origin, so simply unused."""
    admitted, refused, owner = run_admit(
        [cand("entry-point"), cand("dir", "/a/hello")],
        lock=locked("hello", BUNDLED),
        pins={"hello": "dir:/a/hello"},
    )
    assert (admitted, refused) == (["dir:/a/hello"], [])
    assert owner == {"hello": ("dir:/a/hello", "pinned")}


def test_refusal_names_both_origins_and_how_to_pin() -> None:
    """The WF104 message says who was refused, who owns the name, and how to choose."""
    got = admit(
        [cand("entry-point"), cand("dir", "/a/hello", version="99")],
        configured={"hello"},
        lock=Lock(),
        pinned=lambda name: None,
        matches_pin=lambda pin, c: False,
    )
    ((_, problem),) = got.refused
    assert problem.code == "WF104" and problem.plugin == "hello"
    assert "dir:/a/hello" in problem.message and BUNDLED in problem.message
    assert "configured in wiseflow.toml" in problem.message
    assert 'origin = "/a/hello"' in (problem.hint or "")
    assert got.refused_for("hello") == [problem] and got.refused_for("other") == []


def test_other_names_are_untouched() -> None:
    """Settling `hello` does not change how `upper` is resolved."""
    admitted, refused, _ = run_admit(
        [cand("entry-point"), cand("dir", "/a/upper", name="upper", version="9"),
         cand("entry-point", name="upper")],
        configured=("hello",),
    )  # fmt: skip
    assert refused == []
    assert admitted == [BUNDLED, "dir:/a/upper", BUNDLED]


def test_content_digest_depends_on_every_file_not_on_order() -> None:
    """The content part of an identity changes with any file and ignores listing order."""
    a = content_digest({"a.py": "1", "b.py": "2"})
    assert a == content_digest({"b.py": "2", "a.py": "1"})
    assert a != content_digest({"a.py": "1", "b.py": "3"})
    assert a != content_digest({"a.py": "1", "c.py": "2"})


def test_a_kind_pin_still_settles_the_name_on_one_origin() -> None:
    """`origin = "dir"` matched by two folders admits the first, never the highest version."""
    admitted, refused, owner = run_admit(
        [cand("entry-point"), cand("dir", "/a/hello"), cand("dir", "/b/hello", version="99")],
        pins={"hello": "dir"},
    )
    assert (admitted, refused) == (["dir:/a/hello"], ["dir:/b/hello"])
    assert owner == {"hello": ("dir:/a/hello", "pinned")}


def test_a_kind_pin_is_narrowed_by_the_lock() -> None:
    """A kind pin never lets another folder past the approval in wiseflow.lock."""
    admitted, refused, owner = run_admit(
        [cand("dir", "/a/hello", version="99"), cand("dir", "/b/hello")],
        pins={"hello": "dir"},
        lock=locked("hello", "dir:/b/hello"),
    )
    assert (admitted, refused) == (["dir:/b/hello"], ["dir:/a/hello"])
    assert owner == {"hello": ("dir:/b/hello", "locked")}
