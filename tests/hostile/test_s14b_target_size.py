"""A repository that signs a target far larger than any valid index or plugin wheel.

TUF checks a target's length and hash, but the length is whatever the repository signed:
its own keys sign "this wheel is 50 GB". The client handed the signed length to TUF,
which spools the whole download (to a temporary file) before it checks the hash; only then
did the wheel reader (256 MiB unpacked at most) or the index reader (32 MiB) refuse it. A
hostile repository so filled the operator's disk with one ``plugins install``.

Now ``Client.download`` compares the signed length with what a valid target can be
(``target_cap``: the index's bound; a wheel's unpacked bound plus its zip headers) and
refuses a larger one before a byte is fetched: WF603 (exit 3), the server never asked.

The caps are lowered here (the rule is tested, not the 256 MiB): the wheel and index are
larger than the lowered caps. Positive control: with the length check off the same client
fetches the whole target from the server (the request is seen and the bytes land).
"""

from __future__ import annotations

import http.server
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "repo"))

from repo_kit import make_wheel  # noqa: E402

from wiseflow._contract._errors import RepositoryError, exit_code_for  # noqa: E402
from wiseflow._repo import _client, _index, _wheel  # noqa: E402
from wiseflow._repo._client import Client  # noqa: E402
from wiseflow._repo._publish import add_wheels, init_repo, publish  # noqa: E402

BIG = 256 << 10  # an incompressible file of 256 KiB in the wheel


class _Served:
    def __init__(self, folder: Path) -> None:
        self.paths: list[str] = []
        seen = self.paths

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a: object, **kw: object) -> None:
                super().__init__(*a, directory=str(folder), **kw)  # type: ignore[arg-type]

            def do_GET(self) -> None:
                seen.append(self.path)
                super().do_GET()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def asked(self, name: str) -> int:
        return sum(p.endswith(("." + name, "/" + name)) for p in self.paths)


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[tuple[_Served, Path, str]]:
    served = tmp_path / "served"
    init_repo(served)
    wheel = make_wheel(
        tmp_path / "wheels", "bulky", "1.0.0", extra_files={"wfp_bulky/blob.bin": os.urandom(BIG)}
    )
    add_wheels(served, [wheel])
    publish(served)
    srv = _Served(served)
    thread = threading.Thread(target=srv.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv, served / "metadata" / "1.root.json", wheel.name
    finally:
        srv.server.shutdown()
        srv.server.server_close()
        thread.join(timeout=30)


def _lower_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_wheel, "MAX_TOTAL", 64 << 10)
    monkeypatch.setattr(_wheel, "MAX_FILES", 8)
    monkeypatch.setattr(_index, "MAX_INDEX_BYTES", 64)


def test_an_oversized_signed_target_is_refused_before_it_is_fetched(
    repo: tuple[_Served, Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    srv, root, wheel = repo
    dest = tmp_path / "staging" / "bulky.whl"
    client = Client(srv.url, root, tmp_path / "data")
    client.index()  # the index fits the real cap
    indexes = srv.asked("index.json")
    _lower_caps(monkeypatch)
    with pytest.raises(RepositoryError) as err:
        client.download(wheel, dest)
    assert err.value.code == "WF603" and exit_code_for("WF603") == 3
    assert "more than any valid plugin wheel" in err.value.message
    assert not srv.asked(wheel) and not dest.exists()
    with pytest.raises(RepositoryError) as err:
        Client(srv.url, root, tmp_path / "data2").index()
    assert err.value.code == "WF603" and "more than any valid index" in err.value.message
    assert srv.asked("index.json") == indexes
    # the host goes on: with the real caps the same client fetches the wheel
    monkeypatch.undo()
    client.download(wheel, dest)
    assert dest.stat().st_size > BIG


def test_control_without_the_length_check_the_whole_target_is_fetched(
    repo: tuple[_Served, Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    srv, root, wheel = repo
    _lower_caps(monkeypatch)
    monkeypatch.setattr(_client, "target_cap", lambda target: 1 << 62)
    dest = tmp_path / "staging" / "bulky.whl"
    client = Client(srv.url, root, tmp_path / "data")
    with pytest.raises(RepositoryError):  # the index is refused, but only once read
        client.index()
    assert srv.asked("index.json")
    client.download(wheel, dest)  # what the wheel reader would refuse after the fact
    assert srv.asked(wheel) and dest.stat().st_size > BIG
    with pytest.raises(RepositoryError) as err:
        _wheel.read_wheel(dest)
    assert err.value.code == "WF603"
