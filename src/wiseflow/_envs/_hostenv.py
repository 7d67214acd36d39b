"""Trusted plugins share the host's environment: what in it does not fit their requirements."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import metadata

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

__all__ = ["host_conflicts"]


def host_conflicts(requirements: Sequence[str]) -> list[str]:
    """Requirements the host's installed distributions do not satisfy, each explained.

    Empty when a trusted plugin can share the host's environment as it is. Requirements
    whose marker excludes this interpreter are skipped.
    """
    out = []
    for text in requirements:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            out.append(f"{text[:80]!r} is not a valid requirement")
            continue
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        try:
            have = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            out.append(f"{req} needed, {req.name} is not installed in the host's environment")
            continue
        try:
            fits = req.specifier.contains(Version(have), prereleases=True)
        except InvalidVersion:
            fits = False
        if not fits:
            out.append(f"{req} needed, the host has {req.name} {have}")
    return out
