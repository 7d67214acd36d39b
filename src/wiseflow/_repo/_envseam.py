"""The seam to per-plugin Python environments (``wiseflow._envs``, built by another part).

A plugin wheel without ``Requires-Dist`` needs no environment of its own: its worker runs
with wiseflow's. A wheel with requirements needs ``wiseflow._envs`` (resolve and build the
environment inside the install's staging, so a failure leaves nothing behind); where that
part is not present, such a wheel is refused before anything is installed.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._contract._errors import RepositoryError

__all__ = ["prepare_env"]


def prepare_env(requirements: Sequence[str], data_dir: Path, sources: Any, *, name: str) -> Any:
    """The ``PythonEnv`` built for ``requirements`` (None when there are none)."""
    if not requirements:
        return None
    try:
        envs: Any = importlib.import_module("wiseflow._envs")
    except ImportError:
        raise RepositoryError(
            f"plugin '{name}' needs Python packages ({', '.join(requirements)[:300]}), and "
            "this wiseflow cannot build per-plugin environments",
            plugin=name,
            code="WF602",
            hint="install a wiseflow with environment support, or a plugin version without "
            "Python requirements",
        ) from None
    env = envs.resolve_env(list(requirements), sources or envs.EnvSources())
    envs.build_env(env, data_dir, sources or envs.EnvSources())
    return env
