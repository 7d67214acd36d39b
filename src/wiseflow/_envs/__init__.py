"""A Python environment per installed plugin (SPEC §14), built with ``uv`` at install time.

Each installed plugin's requirements (from its wheel's metadata, :func:`read_requirements`)
are resolved over the operator's package sources (:class:`EnvSources`, from ``[repository]
find_links`` / ``index_url``) into a pinned, hashed set (:func:`resolve_env`), recorded in
``wiseflow.lock`` as the entry's ``python`` (:class:`PythonEnv`), and built once into
``<data_dir>/envs/<key>/`` (:func:`build_env`), shared by every plugin whose set is the same.
A sandboxed worker of the plugin starts with that environment's ``site-packages`` first on
its path, read-only under Landlock. Nothing is ever resolved or built at run time.

Trusted plugins run inside the host and share its environment: :func:`host_conflicts` says
what there does not fit their requirements (the advice is to run them sandboxed).
"""

from typing import TYPE_CHECKING

# The names load on first use: `wiseflow.lock` needs only `PythonEnv` (``_model``) on every
# run, and the rest pulls in `packaging` and `importlib.metadata` (~25 ms of startup).
_LAZY = {
    "build_env": "._build",
    "built_env": "._build",
    "env_dir": "._build",
    "remove_env": "._build",
    "worker_path": "._build",
    "env_doc": "._describe",
    "env_lines": "._describe",
    "host_conflicts": "._hostenv",
    "EnvSources": "._model",
    "PythonEnv": "._model",
    "site_packages": "._model",
    "check_requirements": "._resolve",
    "resolve_env": "._resolve",
    "read_requirements": "._wheel",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    obj = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = obj
    return obj


if TYPE_CHECKING:  # explicit re-exports for type checkers (the names load lazily at run time)
    from ._build import build_env as build_env
    from ._build import built_env as built_env
    from ._build import env_dir as env_dir
    from ._build import remove_env as remove_env
    from ._build import worker_path as worker_path
    from ._describe import env_doc as env_doc
    from ._describe import env_lines as env_lines
    from ._hostenv import host_conflicts as host_conflicts
    from ._model import EnvSources as EnvSources
    from ._model import PythonEnv as PythonEnv
    from ._model import site_packages as site_packages
    from ._resolve import check_requirements as check_requirements
    from ._resolve import resolve_env as resolve_env
    from ._wheel import read_requirements as read_requirements

__all__ = [
    "EnvSources",
    "PythonEnv",
    "build_env",
    "built_env",
    "check_requirements",
    "env_dir",
    "env_doc",
    "env_lines",
    "host_conflicts",
    "read_requirements",
    "remove_env",
    "resolve_env",
    "site_packages",
    "worker_path",
]
