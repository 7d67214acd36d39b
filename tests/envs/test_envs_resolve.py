"""Resolving a plugin's requirements: pinned with hashes, from the operator's sources only."""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from wheel_kit import make_wheel

from wiseflow._contract._errors import WiseflowError
from wiseflow._envs import EnvSources, host_conflicts, read_requirements, resolve_env


def _sha(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_requirements_resolve_to_pins_with_the_hashes_of_the_wheels(
    wheels: Path, sources: EnvSources
) -> None:
    """A dependency's own requirements are pinned too, each with the hash of its wheel."""
    said: list[str] = []
    env = resolve_env(["wfhelper"], sources, progress=said.append)
    assert env.pinned == ("wfdemolib==2.0", "wfhelper==0.5")
    assert env.hashes == {
        "wfdemolib": _sha(wheels / "wfdemolib-2.0-py3-none-any.whl"),
        "wfhelper": _sha(wheels / "wfhelper-0.5-py3-none-any.whl"),
    }
    assert len(env.key) == 32 and any("pinned 2 package(s)" in line for line in said)
    # the same set is the same key (shared); another version is another key
    assert resolve_env(["wfhelper", "wfdemolib>=2"], sources).key == env.key
    assert resolve_env(["wfdemolib<2"], sources).key != env.key


def test_a_requirement_the_sources_lack_is_WF602_naming_it(sources: EnvSources) -> None:
    """A missing package is named, with a hint that says where sources are configured."""
    with pytest.raises(WiseflowError) as info:
        resolve_env(["wfnothere>=1"], sources)
    assert info.value.code == "WF602"
    assert "'wfnothere'" in info.value.message
    assert "find_links" in (info.value.hint or "") and "index_url" in (info.value.hint or "")


def test_requirements_that_exclude_each_other_are_WF202(sources: EnvSources) -> None:
    """wfhelper needs wfdemolib>=2: asking for wfdemolib<2 as well cannot be met."""
    with pytest.raises(WiseflowError) as info:
        resolve_env(["wfhelper", "wfdemolib<2"], sources)
    assert info.value.code == "WF202"
    assert "wfdemolib" in info.value.message


def test_an_unreachable_index_is_WF601_naming_its_address() -> None:
    """A closed port on 127.0.0.1 as the index: WF601 with the URL, nothing resolved."""
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/simple"
    with pytest.raises(WiseflowError) as info:
        resolve_env(["wfdemolib"], EnvSources(index_url=url))
    assert info.value.code == "WF601"
    assert url in info.value.message


def test_a_direct_url_or_an_option_is_refused_before_uv_runs(sources: EnvSources) -> None:
    """A plugin's metadata cannot make the host fetch an address, or pass uv an option."""
    for hostile in ("evil @ https://example.invalid/evil.whl", "--index-url=http://x", "-e ."):
        with pytest.raises(WiseflowError) as info:
            resolve_env([hostile], sources)
        assert info.value.code == "WF101", hostile
    with pytest.raises(WiseflowError) as info:  # and the flood of requirements is bounded
        resolve_env([f"p{i}" for i in range(201)], sources)
    assert info.value.code == "WF101"


def test_a_requirement_on_wiseflow_is_the_runtime_s_own(sources: EnvSources) -> None:
    """Plugins may require wiseflow: the runtime provides it (not resolved, not installed),
    and a range this wiseflow is not in is WF204."""
    env = resolve_env(["wiseflow>=0.1", "wfdemolib<2"], sources)
    assert env.pinned == ("wfdemolib==1.0",)
    with pytest.raises(WiseflowError) as info:
        resolve_env(["wiseflow>=999"], sources)
    assert info.value.code == "WF204"


@pytest.fixture
def index(wheels: Path) -> Iterator[str]:
    """A PEP 503 simple index on 127.0.0.1 serving the wheel folder."""
    root = wheels.parent / "index"
    for name in ("wfdemolib", "wfhelper"):
        page = root / "simple" / name
        page.mkdir(parents=True)
        links = "".join(
            f'<a href="/files/{w.name}#{_sha(w).replace(":", "=")}">{w.name}</a>\n'
            for w in sorted(wheels.glob(f"{name}-*.whl"))
        )
        (page / "index.html").write_text(f"<html><body>\n{links}</body></html>\n")
    (root / "files").symlink_to(wheels)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a: object, **kw: object) -> None:
            super().__init__(*a, directory=str(root), **kw)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_an_index_url_is_a_source_as_good_as_a_folder(index: str, wheels: Path) -> None:
    """The same set resolves from an index served on 127.0.0.1 as from the folder."""
    env = resolve_env(["wfhelper"], EnvSources(index_url=index))
    folder = resolve_env(["wfhelper"], EnvSources(find_links=(str(wheels),)))
    assert env == folder


def test_requires_dist_is_read_from_a_wheel_without_extras(tmp_path: Path) -> None:
    """A plugin wheel's requirements are its Requires-Dist lines; extras' ones left out."""
    wheel = make_wheel(
        tmp_path, "wfplug", "1.0", requires=("wfdemolib>=1,<2", 'rich; extra == "fancy"')
    )
    assert read_requirements(wheel) == ["wfdemolib>=1,<2"]
    (tmp_path / "broken.whl").write_bytes(b"not a zip")
    with pytest.raises(WiseflowError) as info:
        read_requirements(tmp_path / "broken.whl")
    assert info.value.code == "WF101"


def test_a_trusted_plugins_conflict_with_the_host_is_explained() -> None:
    """Trusted plugins share the host's environment: what does not fit is said, by name."""
    assert host_conflicts(["msgspec>=0.18", "packaging"]) == []
    said = host_conflicts(["msgspec<0.1", "wfnothere>=1"])
    assert len(said) == 2
    assert "msgspec<0.1" in said[0] and "the host has msgspec" in said[0]
    assert "wfnothere is not installed" in said[1]


def test_a_pin_the_worker_runtime_overrides_is_said(tmp_path: Path) -> None:
    """A plugin pinning another msgspec gets the runtime's in its worker: the build says so."""
    make_wheel(tmp_path / "w", "msgspec", "0.0.1")
    said: list[str] = []
    env = resolve_env(
        ["msgspec"], EnvSources(find_links=(str(tmp_path / "w"),)), progress=said.append
    )
    assert env.pinned == ("msgspec==0.0.1",)
    assert any(line.startswith("note: msgspec==0.0.1 is pinned, and workers use") for line in said)
