"""An author's path end to end (SPEC §13, §14): `plugins new` makes an installable package;
its wheel, published to a repository with `wiseflow repo`, installs with `plugins install`."""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import zipfile
from pathlib import Path

from outside import wf

WHEEL = b"Wheel-Version: 1.0\nGenerator: conformance\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def wheel_of(project: Path, out: Path, dist: str, version: str) -> Path:
    """The wheel a build backend makes of a `plugins new` project: ``src/<pkg>`` + dist-info
    (with the project's ``wiseflow.plugins`` entry point), written here without a build."""
    files: dict[str, bytes] = {}
    for path in sorted((project / "src").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            files[path.relative_to(project / "src").as_posix()] = path.read_bytes()
    info = f"{dist}-{version}.dist-info"
    pyproject = (project / "pyproject.toml").read_text()
    section = pyproject.split('[project.entry-points."wiseflow.plugins"]')[1].split("\n[")[0]
    entry = next(line for line in section.splitlines() if "=" in line and not line.startswith("#"))
    name, value = (part.strip().strip('"') for part in entry.split("=", 1))
    files[f"{info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n".encode()
    )
    files[f"{info}/WHEEL"] = WHEEL
    files[f"{info}/entry_points.txt"] = f"[wiseflow.plugins]\n{name} = {value}\n".encode()
    record = ""
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += f"{path},sha256={digest},{len(data)}\n"
    files[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
    out.mkdir(parents=True, exist_ok=True)
    wheel = out / f"{dist.replace('-', '_')}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return wheel


def test_a_new_plugin_published_to_a_repository_installs(tmp_path: Path) -> None:
    done = wf("plugins", "new", "my-feed", "--kind", "connector", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert wf("plugins", "check", "my-feed", "--json", cwd=tmp_path).returncode == 0
    wheel = wheel_of(tmp_path / "my-feed", tmp_path / "dist", "wiseflow-my-feed", "0.1.0")
    for step in (
        ("repo", "init", "srv"),
        ("repo", "add", "srv", str(wheel)),
        ("repo", "publish", "srv"),
    ):
        done = wf(*step, "--json", cwd=tmp_path)
        assert done.returncode == 0, (step, done.stdout, done.stderr)
    (tmp_path / "wiseflow.toml").write_text(
        '[repository]\nurl = "srv"\nroot = "srv/metadata/1.root.json"\n'
    )
    search = json.loads(wf("plugins", "search", "my-feed", "--json", cwd=tmp_path).stdout)
    assert [p["name"] for p in search["plugins"]] == ["my-feed"], search
    done = wf("plugins", "install", "my-feed", "--json", cwd=tmp_path)
    assert done.returncode == 0, (done.stdout, done.stderr)
    listed = json.loads(wf("plugins", "list", "--json", cwd=tmp_path).stdout)["plugins"]
    (row,) = [p for p in listed if p["name"] == "my-feed"]
    assert row["identity"]["origin"].startswith("repo:"), row
    # and it runs, sandboxed: its worker imports the package from the install folder
    (tmp_path / "p.toml").write_text('[pipeline]\nname = "p"\n[[sources]]\nplugin = "my-feed"\n')
    done = wf("run", "p.toml", "--json", cwd=tmp_path)
    assert done.returncode == 0, (done.stdout, done.stderr)
    doc = json.loads(done.stdout)
    assert doc["status"] == "ok" and doc["records"]["stored"] > 0, doc


def test_adding_a_wheel_that_is_not_there_is_bad_input(tmp_path: Path) -> None:
    """A mistyped wheel path is a usage error (exit 2), not a hash mismatch (WF603, exit 3)."""
    assert wf("repo", "init", "srv", cwd=tmp_path).returncode == 0
    done = wf("repo", "add", "srv", "dist/missing-0.1-py3-none-any.whl", "--json", cwd=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    error = json.loads(done.stdout)["error"]
    assert "missing-0.1-py3-none-any.whl" in error["message"], error
    assert error["code"] != "WF603", error


def test_install_output_to_a_log_has_no_progress_residue(tmp_path: Path) -> None:
    """Progress bars are for a terminal: stderr to a file or a pipe gets only the lines
    that say something (before, rich left one empty line per download)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "repo"))
    from repo_kit import make_wheel

    wheel = make_wheel(tmp_path / "dist", "quiet", "1.0.0")
    for step in (
        ("repo", "init", "srv"),
        ("repo", "add", "srv", str(wheel)),
        ("repo", "publish", "srv"),
    ):
        assert wf(*step, cwd=tmp_path).returncode == 0, step
    (tmp_path / "wiseflow.toml").write_text(
        '[repository]\nurl = "srv"\nroot = "srv/metadata/1.root.json"\n'
    )
    done = wf("plugins", "install", "quiet", cwd=tmp_path)
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "installed quiet 1.0.0" in done.stdout, done.stdout
    assert "\n\n" not in "\n" + done.stderr, repr(done.stderr)
