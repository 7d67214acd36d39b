"""Who a plugin is: (name, origin, content), and which candidate a name belongs to.

Everything the operator decides about a plugin — level, grants, resources, enable/disable,
the approval in ``wiseflow.lock`` — is bound to one identity. For a name the operator
configured, locked or pinned, exactly one origin is admitted; every other candidate
claiming that name is refused (WF104 naming both origins), whatever its version. A name
nobody configured keeps the ordinary rule: every candidate takes part in resolution.

Which origin a name belongs to, in order:

1. ``[plugins.NAME] origin`` in wiseflow.toml (the operator's pin); a pin naming a kind of
   origin (``"dir"``) that several candidates match is narrowed by the rules below;
2. the origin recorded in ``wiseflow.lock`` (the operator's approval), or, for a name that
   an approved plugin requires, the origin that dependency had when it was approved (a
   newer folder of that name cannot stand in for it: no dependency confusion);
3. for a configured name, the most deliberate origin on offer: a class handed in by code,
   then an installed distribution, then a plugin folder (in ``plugin_dirs`` order).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import final

import msgspec

from .._contract._errors import DuplicatePlugin, Problem
from .._discovery import Candidate
from ._lock import Lock

__all__ = ["Admission", "admit", "content_digest", "origin_of", "plugin_root", "refusal"]

_DELIBERATE = {"direct": 0, "entry-point": 1, "repo": 1, "dir": 2}


def origin_of(cand: Candidate) -> str:
    """``entry-point:<distribution>``, ``dir:<absolute folder>``, ``repo:<url>`` or
    ``direct:<module:Class>``."""
    if cand.origin == "entry-point":
        return f"entry-point:{cand.location.split('==')[0]}"
    if cand.origin == "direct":
        return f"direct:{cand.manifest.entry}"
    return f"{cand.origin}:{cand.location}"


def plugin_root(cand: Candidate) -> str | None:
    """The folder holding the plugin's ``plugin.toml`` (its files), when it has one.

    Not always ``code_root``: a package's ``plugin.toml`` sits inside the package, and its
    code imports from the folder above."""
    root = cand.manifest.root
    if root is None:
        return cand.code_root
    if cand.code_root and os.path.realpath(root) == os.path.realpath(cand.code_root):
        return cand.code_root
    return os.path.abspath(root)


def content_digest(files: Mapping[str, str]) -> str:
    """One SHA-256 over a plugin's file digests: the "content" part of its identity."""
    import hashlib  # OpenSSL loads only when a digest is needed, not for every command

    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(f"{rel}\0{files[rel]}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


@final
class Admission(msgspec.Struct, frozen=True):
    """Candidates admitted to resolution, and those refused with why.

    Attributes:
        candidates: the admitted candidates, in discovery order.
        refused: (candidate, WF104 problem) for every candidate refused its name.
        owner: for each settled name, the origin it belongs to and why
            (``"pinned"``, ``"locked"`` or ``"configured"``).
    """

    candidates: tuple[Candidate, ...]
    refused: tuple[tuple[Candidate, Problem], ...]
    owner: dict[str, tuple[str, str]]

    def refused_for(self, name: str) -> list[Problem]:
        return [p for c, p in self.refused if c.manifest.name == name]


def admit(
    candidates: Sequence[Candidate],
    *,
    configured: Iterable[str],
    lock: Lock,
    pinned: Callable[[str], str | None],
    matches_pin: Callable[[str, Candidate], bool],
) -> Admission:
    """Decide, per name, which candidates may answer to it (see the module docstring)."""
    by_name: dict[str, list[Candidate]] = {}
    for cand in candidates:
        by_name.setdefault(cand.manifest.name, []).append(cand)
    settled = set(configured)
    kept: set[int] = set()
    refused: list[tuple[Candidate, Problem]] = []
    owner: dict[str, tuple[str, str]] = {}
    for name, group in by_name.items():
        pin = pinned(name)
        entry = lock.get(name)
        if pin is not None:
            # candidates the pin does not match are simply not that origin: not used. A pin
            # may name a kind ("dir", "entry-point") that several origins match; it still
            # settles the name on one of them: the approved one, else the first offered.
            matching = [c for c in group if matches_pin(pin, c)]
            origins = list(dict.fromkeys(origin_of(c) for c in matching))
            if entry is not None and entry.origin in origins:
                owner[name] = (entry.origin, "locked")
            elif len(origins) > 1:
                best = min(matching, key=lambda c: _DELIBERATE.get(c.origin, 9))
                owner[name] = (origin_of(best), "pinned")
            else:
                kept.update(id(c) for c in matching)
                owner[name] = (origins[0] if origins else pin, "pinned")
                continue
            origin, why = owner[name]
            for cand in matching:
                if origin_of(cand) == origin:
                    kept.add(id(cand))
                else:
                    refused.append((cand, refusal(cand, origin, why)))
            continue
        required = lock.required_origin(name)
        if entry is not None:
            origin, why = entry.origin, "locked"
        elif required is not None:
            origin, why = required, "required"
        elif name in settled and len({origin_of(c) for c in group}) > 1:
            best = min(group, key=lambda c: _DELIBERATE.get(c.origin, 9))
            origin, why = origin_of(best), "configured"
        else:
            kept.update(id(c) for c in group)
            continue
        owner[name] = (origin, why)
        for cand in group:
            if origin_of(cand) == origin:
                kept.add(id(cand))
            else:
                refused.append((cand, refusal(cand, origin, why)))
    return Admission(
        candidates=tuple(c for c in candidates if id(c) in kept),
        refused=tuple(refused),
        owner=owner,
    )


def refusal(cand: Candidate, origin: str, why: str) -> Problem:
    """The WF104 problem of ``cand``, refused a name that belongs to ``origin``."""
    name = cand.manifest.name
    because = {
        "locked": "approved in wiseflow.lock",
        "configured": "configured in wiseflow.toml",
        "pinned": "pinned in wiseflow.toml",
        "required": "the dependency of a plugin approved in wiseflow.lock",
    }[why]
    return Problem(
        code=DuplicatePlugin.default_code,
        message=(
            f"plugin '{name}' {cand.manifest.version} from {origin_of(cand)} is refused: the "
            f"name '{name}' belongs to {origin} ({because}); a plugin never inherits the "
            "level, grants or secrets of another plugin with the same name"
        ),
        hint=(
            f"if {origin_of(cand)} is the one you want, set [plugins.{name}] origin = "
            f'"{cand.location}" in wiseflow.toml and approve it with '
            f"`wiseflow plugins grant {name}`; otherwise rename or remove it"
        ),
        plugin=name,
        file=cand.manifest.path,
    )
