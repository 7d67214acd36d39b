"""What an environment is: its sources, its pinned set, its key and where it lives.

A :class:`PythonEnv` is what ``wiseflow.lock`` records for an installed plugin: the
packages its requirements resolved to, each pinned to a version and to the SHA-256 of the
files the sources offered. Its ``key`` is a digest of the interpreter it was resolved for
and of that pinned set: plugins whose sets are identical share one folder,
``<data_dir>/envs/<key>/``.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from pathlib import Path
from typing import Annotated, Final, final

import msgspec

__all__ = [
    "MARKER",
    "EnvSources",
    "PythonEnv",
    "envs_root",
    "interpreter_tag",
    "make_key",
    "site_packages",
]

#: Written last into a finished environment: a folder without it is not an environment.
MARKER: Final = "wiseflow-env.json"

_KEY = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{32}$")]
_PIN = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!_-]+$",
                                   max_length=300)]  # fmt: skip
_NAME = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=200)]
_HASHES = Annotated[
    str, msgspec.Meta(pattern=r"^sha256:[0-9a-f]{64}( sha256:[0-9a-f]{64})*$", max_length=8000)
]


@final
class EnvSources(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Where requirements come from: ``[repository] find_links`` / ``index_url``.

    ``find_links``: folders of wheels (or pages listing them); ``index_url``: one package
    index (PEP 503). Without an ``index_url`` no index is asked at all (``--no-index``): an
    offline build needs only the folders.
    """

    find_links: tuple[str, ...] = ()
    index_url: str | None = None


@final
class PythonEnv(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A resolved environment, as ``wiseflow.lock`` records it.

    Attributes:
        key: hex digest of the interpreter and the pinned set: equal sets share one env.
        pinned: ``"name==version"``, names normalised, sorted.
        hashes: name -> ``"sha256:..."``: every file the sources offered for that version
            (several are space-separated); the build installs only a file with one of them.
    """

    key: _KEY
    pinned: tuple[_PIN, ...] = ()
    hashes: dict[_NAME, _HASHES] = msgspec.field(default_factory=dict)

    def requirements_text(self) -> str:
        """The pinned set as a requirements file, every line with its hashes."""
        lines = []
        for pin in self.pinned:
            name = pin.partition("==")[0]
            hashes = " ".join(f"--hash={h}" for h in self.hashes.get(name, "").split())
            lines.append(f"{pin} {hashes}".rstrip())
        return "\n".join(lines) + "\n"


def interpreter_tag() -> str:
    """The interpreter an environment is built for: its packages are only valid there."""
    return f"{sys.implementation.cache_tag}-{platform.machine()}"


def make_key(pinned: tuple[str, ...], hashes: dict[str, str]) -> str:
    """The key of a pinned set: 128 bits of SHA-256 over the interpreter, pins and hashes."""
    doc = {"python": interpreter_tag(), "pinned": list(pinned), "hashes": hashes}
    blob = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


def envs_root(data_dir: Path) -> Path:
    """``<data_dir>/envs``: every environment of this data dir."""
    return Path(data_dir) / "envs"


def site_packages(env_dir: Path) -> Path:
    """The folder a worker puts on its path: ``lib/pythonX.Y/site-packages`` of ``env_dir``."""
    v = sys.version_info
    return Path(env_dir) / "lib" / f"python{v.major}.{v.minor}" / "site-packages"
