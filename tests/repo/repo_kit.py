"""Helpers for the repository tests: plugin wheels made with zipfile, a static HTTP server
on 127.0.0.1, and a snapshot of what an install may change."""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import shutil
import sys
import textwrap
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wf_cli import wf  # noqa: E402

__all__ = ["Project", "copy_repo", "make_wheel", "serve", "snapshot", "wf"]

CONNECTOR = """\
from wiseflow import ConnectorPlugin, Record


class Source(ConnectorPlugin):
    def fetch(self, state):
        for i in range(3):
            yield Record(id=str(i), source=self.ctx.name, title="{NAME} {VERSION} #" + str(i))
"""

PROCESSOR = """\
from wiseflow import ProcessorPlugin


class Proc(ProcessorPlugin):
    def process(self, batch):
        return [r.replace(title=r.title.upper()).annotate("{NAME}", "{VERSION}") for r in batch]
"""


def make_wheel(
    out: Path,
    name: str,
    version: str,
    *,
    kind: str = "connector",
    requires: dict[str, str] | None = None,
    network: tuple[str, ...] = (),
    description: str = "",
    extra_files: dict[str, bytes] | None = None,
    requires_dist: tuple[str, ...] = (),
    code: str | None = None,
) -> Path:
    """A plugin wheel: ``<pkg>/plugin.toml`` + ``<pkg>/plugin.py`` + dist-info."""
    pkg = "wfp_" + name.replace("-", "_")
    entry = "plugin:Source" if kind == "connector" else "plugin:Proc"
    code = code or (CONNECTOR if kind == "connector" else PROCESSOR)
    code = code.replace("{NAME}", name).replace("{VERSION}", version)
    manifest = textwrap.dedent(
        f"""\
        [plugin]
        name = "{name}"
        version = "{version}"
        kind = "{kind}"
        entry = "{entry}"
        api = ">=1,<2"
        description = "{description or name + " test plugin"}"
        """
    )
    if requires:
        manifest += "\n[plugin.requires]\n" + "".join(f'{k} = "{v}"\n' for k, v in requires.items())
    if network:
        manifest += (
            "\n[plugin.permissions]\nnetwork = [" + ", ".join(f'"{h}"' for h in network) + "]\n"
        )
    dist = f"{pkg}-{version}.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {pkg}\nVersion: {version}\n"
    meta += "".join(f"Requires-Dist: {r}\n" for r in requires_dist)
    files: dict[str, bytes] = {
        f"{pkg}/__init__.py": b"",
        f"{pkg}/plugin.toml": manifest.encode(),
        f"{pkg}/plugin.py": code.encode(),
        f"{dist}/METADATA": meta.encode(),
        f"{dist}/WHEEL": WHEEL,
        **(extra_files or {}),
    }
    record = ""
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += f"{path},sha256={digest},{len(data)}\n"
    files[f"{dist}/RECORD"] = (record + f"{dist}/RECORD,,\n").encode()
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{pkg}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for p, data in files.items():
            zf.writestr(zipfile.ZipInfo(p, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return path


WHEEL = b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 (a free port) for the block; yields the base URL."""

    def handler(*a: object, **kw: object) -> _Quiet:
        return _Quiet(*a, directory=str(folder), **kw)  # type: ignore[arg-type]

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=30)


def snapshot(project: Path) -> dict[str, str]:
    """Every file under the data dir's installed/ and envs/, and the lock, by content."""
    out: dict[str, str] = {}
    lock = project / "wiseflow.lock"
    out["wiseflow.lock"] = lock.read_text() if lock.exists() else "<none>"
    for sub in ("installed", "envs"):
        base = project / "state" / sub
        for root, dirs, files in os.walk(base):
            dirs.sort()
            for f in sorted(files):
                p = Path(root) / f
                out[str(p.relative_to(project))] = hashlib.sha256(p.read_bytes()).hexdigest()
            for d in dirs:
                out[str((Path(root) / d).relative_to(project)) + "/"] = "dir"
    return out


def copy_repo(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    keys = src.with_name(src.name + ".keys")
    if keys.exists():
        shutil.copytree(keys, dest.with_name(dest.name + ".keys"))
    draft = src.with_name(src.name + ".draft.json")  # the publisher's, beside the served tree
    if draft.exists():
        shutil.copyfile(draft, dest.with_name(dest.name + ".draft.json"))
    return dest


class Project:
    """An operator's folder whose wiseflow.toml points at a served copy of the repository."""

    def __init__(self, folder: Path, served: Path, url: str) -> None:
        self.folder = folder
        self.served = served
        self.url = url
        self.write_config(url)

    def write_config(self, url: str) -> None:
        root = self.served / "metadata" / "1.root.json"
        (self.folder / "wiseflow.toml").write_text(
            textwrap.dedent(
                f"""\
                [wiseflow]
                data_dir = "state"

                [repository]
                url = "{url}"
                root = "{root}"
                """
            )
        )

    def wf(self, *args: str) -> tuple[int, str, str]:
        done = wf(*args, cwd=self.folder)
        return done.returncode, done.stdout, done.stderr

    def json(self, *args: str) -> tuple[int, dict[str, object]]:
        code, out, err = self.wf(*args, "--json")
        assert out.strip(), err
        return code, json.loads(out)

    def publisher(self, *args: str) -> None:
        code, _, err = self.wf("repo", *args)
        assert code == 0, err
