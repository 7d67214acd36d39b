"""Running ``uv``: found through the ``uv`` package, never on ``PATH``; its failures named.

``uv`` only ever runs at install time (resolving and building environments), with a
deadline, without any configuration file of the machine (``--no-config``) and without the
``UV_*``/``PIP_*`` settings of the caller's environment: the sources are the ones the
operator wrote in ``wiseflow.toml`` and nothing else. Source distributions are never built
(``--no-build``): building one runs its code on the host. Nothing comes from uv's cache
(``--no-cache``): every file installed is read from its source and checked against the
hash the lock pinned.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence

from .._contract._errors import RepositoryError, VersionConflict
from ._model import EnvSources

__all__ = ["UV_TIMEOUT", "clean_output", "run_uv", "source_args", "uv_bin"]

#: Seconds one ``uv`` command may take before it is killed (a build of a large set included).
UV_TIMEOUT = 900.0

_HINT = (
    'add a source for it in wiseflow.toml: [repository] find_links = ["FOLDER-OF-WHEELS"] '
    "or index_url = \"URL\" (see the how-to 'Plugin environments')"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def uv_bin() -> str:
    """The ``uv`` executable of the ``uv`` package (extra ``wiseflow[envs]``)."""
    try:
        import uv
    except ImportError:
        raise RepositoryError(
            "building plugin environments needs uv, which is not installed",
            hint="install it with: pip install 'wiseflow[envs]'",
        ) from None
    return str(uv.find_uv_bin())


def source_args(sources: EnvSources) -> list[str]:
    """``uv`` options for ``sources``: no index at all unless one is configured."""
    args = [] if sources.index_url else ["--no-index"]
    if sources.index_url:
        args += ["--index-url", sources.index_url]
    for link in sources.find_links:
        args += ["--find-links", link]
    return args


def _environment() -> dict[str, str]:
    """The caller's environment without any setting that would change uv's sources."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_"))}
    if "UV_CACHE_DIR" in os.environ:  # where the cache is, not what it holds
        env["UV_CACHE_DIR"] = os.environ["UV_CACHE_DIR"]
    env["UV_HTTP_RETRIES"] = "1"  # an unreachable index is said in seconds, not minutes
    env["NO_COLOR"] = "1"
    return env


def clean_output(text: str, *, lines: int = 12, width: int = 300) -> str:
    """uv's message, bounded and without terminal controls (it quotes plugins' metadata)."""
    kept = [_CONTROL.sub("?", line)[:width] for line in text.strip().splitlines()[:lines]]
    return "\n".join(kept)


def run_uv(args: Sequence[str], *, sources: EnvSources, timeout: float = UV_TIMEOUT) -> str:
    """Run ``uv ARGS``; its standard output, or the error its failure means.

    Raises:
        RepositoryError: WF601 an index or folder that cannot be reached (naming it),
            WF602 a requirement the sources do not have (naming it), WF600 anything else.
        VersionConflict: WF202 requirements that exclude each other.
    """
    argv = [uv_bin(), *args]
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            env=_environment(),
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RepositoryError(
            f"uv did not finish within {timeout:g} s ({args[0]} {args[1]})",
            hint="check that the package sources answer; " + _HINT,
        ) from None
    if done.returncode == 0:
        return done.stdout
    raise explain(done.stderr, sources)


_NOT_FOUND = re.compile(
    r"Because (?:there is no version of |there are no versions of |)([A-Za-z0-9._-]+)"
    r"(?:[^\n]*?) (?:was not found in|is not available|not found in)"
)
_FETCH = re.compile(r"Failed to fetch: `?(\S+?)`?$|Failed to read `?(.+?)`?$", re.M)


def _one_line(said: str, limit: int = 600) -> str:
    """uv's lines (``error:``, ``cause:``, ...) as one line: errors print on one line."""
    parts = [line.strip().removeprefix("error:").removeprefix("cause:").strip()
             for line in said.splitlines()]  # fmt: skip
    text = "; ".join(p for p in parts if p)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def explain(stderr: str, sources: EnvSources) -> RepositoryError | VersionConflict:
    """The wiseflow error for what uv printed when it failed (one line, bounded)."""
    said = clean_output(stderr)
    fetch = _FETCH.search(said)
    if fetch is not None or "error sending request" in said or "dns error" in said:
        where = (fetch.group(1) or fetch.group(2)) if fetch else (sources.index_url or "?")
        return RepositoryError(
            f"package source unreachable: {where} (uv: {_one_line(said)})",
            code="WF601",
            plugin=where,
            hint="check the address and the network; " + _HINT,
        )
    missing = _NOT_FOUND.search(said) or re.search(
        r"\b([A-Za-z0-9._-]+) was not found in (?:the|any)", said
    )
    if missing is not None:
        name = missing.group(1)
        return RepositoryError(
            f"requirement '{name}' cannot be found in the package sources ({_where(sources)})"
            f" (uv: {_one_line(said)})",
            code="WF602",
            plugin=name,
            hint=_HINT,
        )
    if "No solution found" in said:
        return VersionConflict(
            f"the requirements exclude each other (uv: {_one_line(said)})",
            hint="the plugin's requirements cannot all be met from these sources; "
            "ask its author, or add a source with versions that fit",
        )
    return RepositoryError(f"uv failed: {_one_line(said) or 'no message'}", hint=_HINT)


def _where(sources: EnvSources) -> str:
    parts = [f"find_links {link}" for link in sources.find_links]
    if sources.index_url:
        parts.append(f"index_url {sources.index_url}")
    return ", ".join(parts) or "no source configured"
