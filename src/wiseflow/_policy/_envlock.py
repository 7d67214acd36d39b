"""Recording an approved plugin's Python environment in ``wiseflow.lock``."""

from __future__ import annotations

from pathlib import Path

import msgspec

from .._contract._errors import ConfigError
from .._envs._model import PythonEnv
from ._lock import load_lock, save_lock

__all__ = ["attach"]


def attach(lock_path: str | Path, plugin: str, env: PythonEnv | None) -> None:
    """Give the approved ``plugin`` the environment ``env`` (None: none) in the lock.

    Its sandboxed workers start with that environment from then on; the environment
    itself is built with :func:`wiseflow._envs.build_env` before (never at run time).

    Raises:
        ConfigError: WF105 when ``plugin`` has no entry in the lock (approve it first).
    """
    lock = load_lock(lock_path)
    entry = lock.get(plugin)
    if entry is None:
        raise ConfigError(
            f"plugin '{plugin}' is not in {lock_path}",
            plugin=plugin,
            hint=f"approve it first: wiseflow plugins grant {plugin}",
        )
    lock.plugins[plugin] = msgspec.structs.replace(entry, python=env)
    save_lock(lock, lock_path)
