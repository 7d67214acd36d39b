"""The seam to per-plugin Python environments (:mod:`wiseflow._envs`).

A plugin wheel without ``Requires-Dist`` needs no environment of its own: its worker runs
with wiseflow's. A wheel with requirements gets one, resolved and built inside the
install's staging (before anything is committed): an environment this install built is
removed again when the install fails, and one no installed plugin uses any more is
removed after an update or remove commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from .._envs import EnvSources, PythonEnv, build_env, built_env, remove_env, resolve_env
from .._policy._lock import LockEntry

__all__ = ["drop_envs", "prepare_env", "release_envs"]


def prepare_env(
    requirements: Sequence[str],
    data_dir: Path,
    sources: EnvSources | None,
    *,
    name: str,
    built: list[str],
    progress: Callable[[str], None] | None = None,
) -> PythonEnv | None:
    """The environment built for ``requirements`` (None when there are none).

    The key of an environment this call built (none was there) is appended to ``built``.

    Raises:
        WiseflowError: what resolving or building said (WF101, WF202, WF601, WF602).
    """
    if not requirements:
        return None
    sources = sources or EnvSources()
    env = resolve_env(list(requirements), sources, progress=progress, plugin=name)
    fresh = built_env(data_dir, env) is None
    build_env(env, data_dir, sources, progress=progress)
    if fresh:
        built.append(env.key)
    return env


def drop_envs(data_dir: Path, keys: Iterable[str]) -> None:
    """Remove environments by key (the ones a failed install built)."""
    for key in keys:
        try:
            remove_env(data_dir, key)
        except OSError:
            pass


def release_envs(data_dir: Path, before: Iterable[LockEntry], after: Iterable[LockEntry]) -> None:
    """Remove the environments lock entries ``before`` used and ``after`` no longer use
    (after a commit: a failure here leaves an unused folder, never a broken plugin)."""
    keys = {e.python.key for e in before if e.python is not None}
    keys -= {e.python.key for e in after if e.python is not None}
    drop_envs(data_dir, sorted(keys))
