"""The seam to per-plugin Python environments (``wiseflow._envs``, built by another part).

A plugin wheel without ``Requires-Dist`` needs no environment of its own: its worker runs
with wiseflow's. A wheel with requirements needs ``wiseflow._envs`` (resolve and build the
environment inside the install's staging, so a failure leaves nothing behind); where that
part is not present, such a wheel is refused before anything is installed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from .._contract._errors import RepositoryError

__all__ = ["drop_envs", "prepare_env", "release_envs"]


def prepare_env(
    requirements: Sequence[str],
    data_dir: Path,
    sources: Any,
    *,
    name: str,
    built: list[str],
    progress: Callable[[str], None] | None = None,
) -> Any:
    """The ``PythonEnv`` built for ``requirements`` (None when there are none).

    The key of an environment this call built (none was there) is appended to ``built``:
    a failed install removes those again, so environments stay as they were.
    """
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
    sources = sources or envs.EnvSources()
    env = envs.resolve_env(list(requirements), sources, progress=progress, plugin=name)
    fresh = envs.built_env(data_dir, env) is None
    envs.build_env(env, data_dir, sources, progress=progress)
    if fresh:
        built.append(env.key)
    return env


def drop_envs(data_dir: Path, keys: Iterable[str]) -> None:
    """Remove environments by key (the ones a failed install built)."""
    try:
        envs: Any = importlib.import_module("wiseflow._envs")
    except ImportError:
        return
    for key in keys:
        try:
            envs.remove_env(data_dir, key)
        except OSError:
            pass


def release_envs(data_dir: Path, before: Iterable[Any], after: Iterable[Any]) -> None:
    """Remove the environments lock entries ``before`` used and ``after`` no longer use
    (after a commit: a failure here leaves an unused folder, never a broken plugin)."""
    keys = {getattr(getattr(e, "python", None), "key", None) for e in before}
    keys -= {getattr(getattr(e, "python", None), "key", None) for e in after}
    keys.discard(None)
    if keys:
        drop_envs(data_dir, sorted(k for k in keys if isinstance(k, str)))
