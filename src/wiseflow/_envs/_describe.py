"""What ``plugins info NAME`` says about a plugin's Python environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._build import built_env, env_dir
from ._hostenv import host_conflicts
from ._model import PythonEnv

__all__ = ["env_doc", "env_lines"]


def env_doc(env: PythonEnv | None, data_dir: Path, *, trusted: bool) -> dict[str, Any]:
    """The ``"python"`` part of ``plugins info --json``.

    ``environment`` is ``"own"`` (an installed plugin's, used by its sandboxed workers) or
    ``"host"`` (trusted plugins, and plugins without one: the host's own). A trusted plugin
    with an environment of its own lists what in the host's differs from its pinned set.
    """
    if env is None:
        return {"environment": "host", "key": None, "pinned": [], "conflicts": []}
    folder = built_env(Path(data_dir), env)
    return {
        "environment": "host" if trusted else "own",
        "key": env.key,
        "path": str(env_dir(Path(data_dir), env.key)),
        "built": folder is not None,
        "pinned": list(env.pinned),
        "conflicts": host_conflicts(env.pinned) if trusted else [],
    }


def env_lines(doc: dict[str, Any]) -> list[str]:
    """The same, as lines of text for a terminal (the caller makes them terminal-safe)."""
    if doc["key"] is None:
        return ["python: the host's environment"]
    pinned = ", ".join(doc["pinned"]) or "nothing"
    if doc["environment"] == "host":
        lines = [f"python: the host's environment (trusted); its own {doc['key']} is unused"]
        lines += [f"  conflict: {c}" for c in doc["conflicts"]]
        if doc["conflicts"]:
            lines.append("  run it sandboxed to use its own environment")
        return [*lines, f"  pinned: {pinned}"]
    state = "built" if doc["built"] else "NOT BUILT (install the plugin again)"
    return [f"python: environment {doc['key']}, {state}, at {doc['path']}", f"  pinned: {pinned}"]
