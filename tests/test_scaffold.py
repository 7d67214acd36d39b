"""`wiseflow plugins new`: installable projects that pass their own checks as generated."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from wiseflow._cli._scaffold import class_name

KINDS = ("connector", "processor", "analyzer")


def run(*args: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def wf(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run(sys.executable, "-m", "wiseflow", "--data-dir", str(cwd / ".wf"), *args, cwd=cwd)


@pytest.fixture(scope="module")
def plugins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One project of each kind, generated side by side into ``plugins/``."""
    root = tmp_path_factory.mktemp("scaffold")
    for kind in KINDS:
        res = wf("plugins", "new", f"my-{kind}", "--kind", kind, "--dir", "plugins", cwd=root)
        assert res.returncode == 0, res.stdout + res.stderr
    return root / "plugins"


@pytest.mark.parametrize(
    ("name", "kind", "expected"),
    [
        ("my-connector", "connector", "MyConnector"),
        ("github", "connector", "GithubConnector"),
        ("text-clean", "processor", "TextCleanProcessor"),
        ("trend2", "analyzer", "Trend2Analyzer"),
    ],
)
def test_class_names_read_like_python(name: str, kind: str, expected: str) -> None:
    """`my-connector` becomes MyConnector, not MyConnectorConnector."""
    assert class_name(name, kind) == expected


def test_project_is_an_installable_package(plugins: Path) -> None:
    """pyproject declares the entry point and ships plugin.toml; tests have unique names."""
    project = plugins / "my-connector"
    meta = tomllib.loads((project / "pyproject.toml").read_text())
    entry = meta["project"]["entry-points"]["wiseflow.plugins"]["my-connector"]
    assert entry == "wiseflow_my_connector.connector:MyConnector"
    assert meta["tool"]["setuptools"]["package-data"]["wiseflow_my_connector"] == ["plugin.toml"]
    manifest = tomllib.loads((project / "src/wiseflow_my_connector/plugin.toml").read_text())
    assert manifest["plugin"]["entry"] == entry
    assert (project / "README.md").is_file()
    tests = sorted(p.name for p in plugins.glob("*/tests/*.py"))
    assert tests == [f"test_wiseflow_my_{k}.py" for k in sorted(KINDS)]


@pytest.mark.parametrize("kind", KINDS)
def test_generated_project_passes_check_and_the_conformance_suite(plugins: Path, kind: str) -> None:
    """`plugins check` and `plugins test` pass on the project folder as generated."""
    project = plugins / f"my-{kind}"
    res = wf("plugins", "check", str(project), cwd=plugins.parent)
    assert res.returncode == 0, res.stdout + res.stderr
    res = wf("plugins", "test", str(project), "--json", cwd=plugins.parent)
    assert res.returncode == 0, res.stdout + res.stderr
    assert json.loads(res.stdout)["ok"] is True


def test_check_and_kit_take_the_package_folder_or_the_project_folder(plugins: Path) -> None:
    """The folder holding plugin.toml works as well as the project folder around it."""
    from wiseflow.testing import run_plugin

    project = plugins / "my-connector"
    package = project / "src" / "wiseflow_my_connector"
    res = wf("plugins", "check", str(package), cwd=plugins.parent)
    assert res.returncode == 0, res.stdout + res.stderr
    for target in (project, package):
        assert [r.id for r in run_plugin(target, {"count": 1}).records] == ["0"]


def test_generated_tests_pass_together_in_one_folder(plugins: Path) -> None:
    """pytest over a folder of three generated projects collects and passes them all."""
    res = run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", ".", cwd=plugins)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "9 passed" in res.stdout


def test_pip_install_editable_makes_it_an_entry_point(plugins: Path, tmp_path: Path) -> None:
    """`pip install -e` works, and `plugins list` then shows the plugin as an entry point."""
    venv = tmp_path / "venv"
    res = run(sys.executable, "-m", "venv", "--without-pip", str(venv), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    python = venv / "bin" / "python"
    purelib = run(
        str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        cwd=tmp_path,
    ).stdout.strip()  # fmt: skip
    # this environment's packages (wiseflow and its dependencies) are visible in the venv
    here = sysconfig.get_paths()["purelib"]
    Path(purelib, "_wiseflow_parent.pth").write_text(f"import site; site.addsitedir({here!r})\n")
    res = run(
        str(python), "-m", "pip", "install", "--quiet", "--no-deps", "-e",
        str(plugins / "my-processor"), cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    res = run(
        str(python), "-m", "wiseflow", "--data-dir", str(tmp_path / "d"), "plugins", "list",
        "--json", cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    rows = {p["name"]: p for p in json.loads(res.stdout)["plugins"]}
    assert rows["my-processor"]["origin"] == "entry-point"
    assert rows["my-processor"]["location"] == "wiseflow-my-processor==0.1.0"
    assert rows["my-processor"]["problems"] == []


@pytest.mark.parametrize("name", ["hello", "text"])
def test_refuses_a_name_that_is_bundled_or_installed(tmp_path: Path, name: str) -> None:
    """A new plugin may not take the name of one on offer: WF104, exit 2, nothing written."""
    res = wf("plugins", "new", name, "--kind", "processor", "--json", cwd=tmp_path)
    assert res.returncode == 2
    assert json.loads(res.stdout)["error"]["code"] == "WF104"
    assert not (tmp_path / name).exists()


def test_refuses_an_invalid_name(tmp_path: Path) -> None:
    """A name that is not a plugin name (or a Python keyword) is WF101, exit 2."""
    for name in ("My_Plugin", "class"):
        res = wf("plugins", "new", name, "--kind", "processor", "--json", cwd=tmp_path)
        assert res.returncode == 2, name
        assert json.loads(res.stdout)["error"]["code"] == "WF101"
    assert sorted(os.listdir(tmp_path)) in ([], [".wf"])
