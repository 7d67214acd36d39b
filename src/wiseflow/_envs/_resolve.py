"""Resolving a plugin's requirements into a pinned, hashed set (nothing is installed)."""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from .._contract._errors import ApiIncompatible, ManifestError
from ._model import EnvSources, PythonEnv, make_key
from ._uv import run_uv, source_args

__all__ = ["MAX_REQUIREMENTS", "check_requirements", "parse_pinned", "resolve_env"]

#: The most requirements one plugin may declare (its metadata is the plugin's word).
MAX_REQUIREMENTS = 200
_MAX_LENGTH = 500


def check_requirements(requirements: Sequence[str], *, plugin: str | None = None) -> list[str]:
    """``requirements`` as canonical PEP 508 strings, or WF101 naming the bad one.

    A requirement on ``wiseflow`` itself is checked against this wiseflow (WF204) and left
    out: the worker runtime provides it. A direct reference (``name @ URL``) is refused:
    an environment's packages come from the operator's sources only, never from an
    address a plugin names.
    """
    if len(requirements) > MAX_REQUIREMENTS:
        raise ManifestError(
            f"{len(requirements)} Python requirements (at most {MAX_REQUIREMENTS})",
            plugin=plugin,
            hint="a plugin with this many requirements is refused; ask its author",
        )
    out = []
    for text in requirements:
        shown = repr(text[:80])
        try:
            if len(text) > _MAX_LENGTH:
                raise InvalidRequirement(f"longer than {_MAX_LENGTH} characters")
            req = Requirement(text)
        except InvalidRequirement as exc:
            raise ManifestError(
                f"Python requirement {shown} is not valid: {str(exc)[:200]}",
                plugin=plugin,
                hint="requirements are PEP 508 strings such as 'requests>=2.31'",
            ) from None
        if req.url:
            raise ManifestError(
                f"Python requirement {shown} names a URL; environments are built only "
                "from the operator's package sources",
                plugin=plugin,
                hint="ask the plugin's author to require it by name and version",
            )
        if canonicalize_name(req.name) in _RUNTIME:
            _check_runtime(req, plugin)
            continue  # the worker runtime provides it (see module docstring of _envs)
        out.append(str(req))
    return out


#: What the worker runtime itself provides to every plugin: never installed into an env.
_RUNTIME = ("wiseflow",)


#: What a worker has imported before the plugin's environment is on its path.
_WORKER_IMPORTS = ("msgspec",)


def _shadowed(pinned: tuple[str, ...]) -> list[str]:
    """Notes for pins the worker runtime's own copies will win over."""
    from importlib import metadata

    out = []
    for pin in pinned:
        name, _, version = pin.partition("==")
        if name in _WORKER_IMPORTS:
            try:
                have = metadata.version(name)
            except metadata.PackageNotFoundError:
                continue
            if have != version:
                out.append(f"note: {pin} is pinned, and workers use the runtime's {name} {have}")
    return out


def _check_runtime(req: Requirement, plugin: str | None) -> None:
    """WF204 unless this wiseflow satisfies the plugin's requirement on wiseflow."""
    from importlib import metadata

    from packaging.version import Version

    try:
        have = metadata.version("wiseflow")
    except metadata.PackageNotFoundError:
        return  # not installed as a distribution (a source tree): nothing to compare
    if not req.specifier.contains(Version(have), prereleases=True):
        raise ApiIncompatible(
            f"the plugin requires {req}, and this is wiseflow {have}",
            plugin=plugin,
            hint="install a release of the plugin built for this wiseflow, or upgrade wiseflow",
        )


_PIN_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)((?:\s+--hash=sha256:[0-9a-f]{64})*)")


def parse_pinned(text: str) -> tuple[tuple[str, ...], dict[str, str]]:
    """``uv pip compile --generate-hashes`` output -> (sorted pins, name -> hashes)."""
    joined = re.sub(r"\s*\\\n\s*", " ", text)
    pins: dict[str, str] = {}
    hashes: dict[str, str] = {}
    for raw in joined.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        m = _PIN_LINE.match(line)
        if m is None:
            raise ValueError(f"unexpected line from uv: {line[:200]!r}")
        name = canonicalize_name(m.group(1))
        pins[name] = f"{name}=={m.group(2)}"
        found = re.findall(r"--hash=(sha256:[0-9a-f]{64})", m.group(3))
        if not found:
            raise ValueError(f"uv gave no hash for {name}")
        hashes[name] = " ".join(sorted(set(found)))
    ordered = tuple(pins[n] for n in sorted(pins))
    return ordered, {n: hashes[n] for n in sorted(hashes)}


def resolve_env(
    requirements: Sequence[str],
    sources: EnvSources,
    *,
    progress: Callable[[str], None] | None = None,
    plugin: str | None = None,
) -> PythonEnv:
    """Resolve ``requirements`` over ``sources`` into a :class:`PythonEnv`; nothing installed.

    Only wheels are considered (a source distribution would run code to be built).
    Without ``sources.index_url`` no index is asked: ``find_links`` folders suffice offline.

    Raises:
        ManifestError: WF101 a requirement that is not valid PEP 508, or names a URL.
        RepositoryError: WF602 a requirement the sources do not have (named); WF601 a
            source that cannot be reached (its address named).
        VersionConflict: WF202 requirements no set of versions satisfies.
    """
    say = progress or (lambda _line: None)
    reqs = check_requirements(requirements, plugin=plugin)
    if not reqs:
        return PythonEnv(key=make_key((), {}))
    say(f"resolving {len(reqs)} Python requirement(s): {', '.join(reqs)[:200]}")
    with tempfile.TemporaryDirectory(prefix="wiseflow-resolve-") as tmp:
        req_in = Path(tmp) / "requirements.in"
        req_in.write_text("\n".join(reqs) + "\n")
        args = [
            "pip", "compile", "--no-config", "--quiet", "--no-header", "--no-annotate",
            "--generate-hashes", "--no-build", "--no-cache", "--python", sys.executable,
            *source_args(sources), str(req_in),
        ]  # fmt: skip
        out = run_uv(args, sources=sources)
    try:
        pinned, hashes = parse_pinned(out)
    except ValueError as exc:
        from .._contract._errors import RepositoryError

        raise RepositoryError(f"cannot read uv's resolution: {exc}", plugin=plugin) from None
    say(f"pinned {len(pinned)} package(s): {', '.join(pinned)[:300]}")
    for note in _shadowed(pinned):
        say(note)
    return PythonEnv(key=make_key(pinned, hashes), pinned=pinned, hashes=hashes)
