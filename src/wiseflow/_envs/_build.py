"""Building an environment once, atomically, and removing it when nothing uses it.

``<data_dir>/envs/<key>/`` is built in a temporary folder beside it (``.tmp-<key>-...``)
and renamed into place only once every package is installed, with the hashes the lock
recorded, and the :data:`~wiseflow._envs._model.MARKER` written: a failed or interrupted
build leaves no half-built environment under its key.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import msgspec

from .._contract._errors import MissingDependency, RepositoryError
from ._model import MARKER, EnvSources, PythonEnv, envs_root, interpreter_tag, site_packages
from ._uv import run_uv, source_args

__all__ = ["build_env", "built_env", "env_dir", "remove_env", "worker_path"]


class _Marker(msgspec.Struct, frozen=True):
    env: PythonEnv
    python: str


def env_dir(data_dir: Path, key: str) -> Path:
    """``<data_dir>/envs/<key>`` (the key checked: it comes from a file)."""
    if len(key) != 32 or any(c not in "0123456789abcdef" for c in key):
        raise ValueError(f"not an environment key: {key[:40]!r}")
    return envs_root(data_dir) / key


def built_env(data_dir: Path, env: PythonEnv) -> Path | None:
    """The folder of ``env`` when it is completely built for this interpreter, else None."""
    folder = env_dir(data_dir, env.key)
    try:
        marker = msgspec.json.decode((folder / MARKER).read_bytes(), type=_Marker)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None
    if marker.env != env or marker.python != interpreter_tag():
        return None
    return folder


def build_env(
    env: PythonEnv,
    data_dir: Path,
    sources: EnvSources,
    *,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Build ``env`` under ``data_dir`` (or reuse it, already built); return its folder.

    Raises:
        RepositoryError: WF602/WF601 as :func:`resolve_env`; WF603 a file whose hash is not
            the one pinned. Nothing is left under the key on any failure.
    """
    say = progress or (lambda _line: None)
    data_dir = Path(data_dir)
    final = env_dir(data_dir, env.key)
    if built_env(data_dir, env) is not None:
        say(f"environment {env.key} already built ({len(env.pinned)} package(s)); shared")
        return final
    root = envs_root(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    _sweep(root)
    tmp = root / f".tmp-{env.key}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        say(f"building environment {env.key} ({len(env.pinned)} package(s))")
        run_uv(
            ["venv", "--no-config", "--quiet", "--relocatable", "--python", sys.executable,
             str(tmp)],
            sources=sources,
        )  # fmt: skip
        if env.pinned:
            (tmp / "requirements.txt").write_text(env.requirements_text())
            try:
                run_uv(
                    ["pip", "install", "--no-config", "--quiet", "--require-hashes",
                     "--no-deps", "--no-build", "--no-cache", "--link-mode", "copy",
                     "--compile-bytecode",
                     "--python", str(tmp / "bin" / "python"), *source_args(sources),
                     "-r", str(tmp / "requirements.txt")],
                    sources=sources,
                )  # fmt: skip
            except RepositoryError as exc:
                if "hash" in exc.message.lower() and "mismatch" in exc.message.lower():
                    raise RepositoryError(
                        f"a package file does not have the hash pinned in wiseflow.lock: "
                        f"{exc.message}",
                        code="WF603",
                        hint="the package source changed a published file; check it, or "
                        "install the plugin again to resolve anew",
                    ) from None
                raise
        site_packages(tmp).mkdir(parents=True, exist_ok=True)
        marker = _Marker(env=env, python=interpreter_tag())
        (tmp / MARKER).write_bytes(msgspec.json.encode(marker))
        _publish(tmp, final, env, data_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    say(f"environment {env.key} ready: {final}")
    return final


def _publish(tmp: Path, final: Path, env: PythonEnv, data_dir: Path) -> None:
    """Rename ``tmp`` to ``final``; a broken folder there is replaced, a good one kept."""
    try:
        os.rename(tmp, final)
        return
    except OSError:
        if not final.exists():
            raise
    if built_env(data_dir, env) is not None:  # built meanwhile by another install: share it
        shutil.rmtree(tmp, ignore_errors=True)
        return
    trash = final.with_name(f".trash-{final.name}-{uuid.uuid4().hex[:8]}")
    os.rename(final, trash)  # an unfinished folder under the key (not ours): set aside
    os.rename(tmp, final)
    shutil.rmtree(trash, ignore_errors=True)


def _sweep(root: Path) -> None:
    """Remove what interrupted builds left (``.tmp-`` of a process that is gone, trash)."""
    for child in root.iterdir():
        name = child.name
        if name.startswith(".trash-"):
            shutil.rmtree(child, ignore_errors=True)
        elif name.startswith(".tmp-"):
            try:
                pid = int(name.split("-")[2])
            except (IndexError, ValueError):
                continue
            if not _alive(pid):
                shutil.rmtree(child, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_env(data_dir: Path, key: str) -> None:
    """Remove the environment ``key`` (callers check that no installed plugin uses it).

    The folder is renamed away first, so that no one sees it half-removed.
    """
    final = env_dir(Path(data_dir), key)
    if not final.exists():
        return
    trash = final.with_name(f".trash-{key}-{uuid.uuid4().hex[:8]}")
    os.rename(final, trash)
    shutil.rmtree(trash, ignore_errors=True)


def worker_path(data_dir: Path, env: PythonEnv, plugin: str) -> tuple[str, ...]:
    """What a sandboxed worker of ``plugin`` puts first on its path: its env's site-packages.

    Raises:
        MissingDependency: WF201 when the environment is not (completely) built: it is
            built at install time, never when a plugin starts.
    """
    folder = built_env(Path(data_dir), env)
    if folder is None:
        raise MissingDependency(
            f"plugin '{plugin}' needs its Python environment {env.key}, which is not built "
            f"under {envs_root(Path(data_dir))}",
            plugin=plugin,
            hint=f"install the plugin again (wiseflow plugins install {plugin}) to build it, "
            "or check that data_dir is the one it was installed with",
        )
    return (str(site_packages(folder)),)
