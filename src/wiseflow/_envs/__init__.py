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

from ._build import build_env, built_env, env_dir, remove_env, worker_path
from ._describe import env_doc, env_lines
from ._hostenv import host_conflicts
from ._model import EnvSources, PythonEnv, site_packages
from ._resolve import check_requirements, resolve_env
from ._wheel import read_requirements

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
