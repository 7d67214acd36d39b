"""Bundled plugins stand alone: none imports another plugin's package."""

from __future__ import annotations

import ast
from pathlib import Path

import wiseflow.plugins

PLUGINS = Path(wiseflow.plugins.__file__).parent


def _imported(path: Path) -> set[str]:
    """Absolute names of the modules ``path`` imports, anywhere in the file."""
    package = ".".join(path.relative_to(PLUGINS.parent.parent).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                found.add(".".join([*base, node.module] if node.module else base))
            else:
                found.add(node.module or "")
    return found


def test_no_bundled_plugin_imports_another_plugin() -> None:
    """entities and trends share helpers through ``wiseflow.plugins._shared``, not each other."""
    plugins = sorted(p.parent.name for p in PLUGINS.glob("*/plugin.toml"))
    assert {"entities", "trends"} <= set(plugins)
    for name in plugins:
        for source in (PLUGINS / name).rglob("*.py"):
            for module in _imported(source):
                other = module.removeprefix("wiseflow.plugins.").split(".")[0]
                if module.startswith("wiseflow.plugins.") and other != name:
                    assert other == "_shared", f"{source} imports {module}"


def test_shared_helpers_use_only_the_public_api() -> None:
    """The shared helpers import ``wiseflow`` itself, never its private modules."""
    for source in (PLUGINS / "_shared").rglob("*.py"):
        for module in _imported(source):
            if module.startswith("wiseflow"):
                assert module == "wiseflow" or module.startswith("wiseflow.plugins._shared"), (
                    f"{source} imports {module}"
                )
