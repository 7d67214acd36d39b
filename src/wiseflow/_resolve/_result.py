"""What resolution returns, and the dependency tree ``plugins info`` prints."""

from __future__ import annotations

from typing import Any, final

import msgspec

from .._contract._errors import Problem
from .._discovery import Candidate
from ._index import satisfies

__all__ = ["DepNode", "Resolution", "dependency_tree", "render_tree"]


@final
class Resolution(msgspec.Struct, frozen=True):
    """The chosen plugins and their load order.

    Attributes:
        selected: name -> the chosen candidate.
        order: load order, dependencies first (unload in reverse).
        problems: why some plugins cannot be used (WF201-WF205; WF101 for bad versions).
        explanations: name -> why this version was chosen (or why none was).
        depends: name -> the plugins it is wired to: its requirements, plus the optional
            ones that are present and satisfied (the manager may hand these to ``ctx.plugin``).
        rejected: name -> its best candidate, for requested plugins that cannot be used.
    """

    selected: dict[str, Candidate]
    order: tuple[str, ...]
    problems: tuple[Problem, ...]
    explanations: dict[str, str]
    depends: dict[str, tuple[str, ...]] = {}
    rejected: dict[str, Candidate] = {}

    @property
    def unload_order(self) -> tuple[str, ...]:
        return tuple(reversed(self.order))

    def problems_for(self, name: str) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.plugin == name)


@final
class DepNode(msgspec.Struct, frozen=True, kw_only=True):
    """One plugin in a dependency tree.

    Attributes:
        name: the plugin.
        version: the chosen (or, if not chosen, best offered) version; None if none exists.
        spec: the range its parent asked for ("" at the root or for "any").
        optional: the parent's requirement is optional.
        status: ``ok`` (chosen, in range, wired), ``unused`` (optional, not wired),
            ``conflict`` (chosen version out of range), ``missing`` (nothing offered),
            ``unresolved`` (offered but not usable), ``cycle`` (already on this path).
        children: its own requirements.
    """

    name: str
    version: str | None
    spec: str = ""
    optional: bool = False
    status: str = "ok"
    children: tuple[DepNode, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return msgspec.to_builtins(self)  # type: ignore[no-any-return]


def dependency_tree(resolution: Resolution, name: str) -> DepNode:
    """The requirement tree of ``name`` as resolved; printable with :func:`render_tree`."""
    return _node(resolution, name, "", False, parent=None, path=())


def _cand(resolution: Resolution, name: str) -> Candidate | None:
    return resolution.selected.get(name) or resolution.rejected.get(name)


def _node(
    res: Resolution,
    name: str,
    spec: str,
    optional: bool,
    *,
    parent: str | None,
    path: tuple[str, ...],
) -> DepNode:
    cand = _cand(res, name)
    version = cand.version if cand else None
    if name in path:
        return DepNode(name=name, version=version, spec=spec, optional=optional, status="cycle")
    if cand is None:
        status = "unused" if optional else "missing"
    elif name not in res.selected:
        status = "unused" if optional else "unresolved"
    elif parent is not None and name not in res.depends.get(parent, ()):
        status = "unused" if optional else _range_status(spec, cand.version)
    else:
        status = "ok"
    children: tuple[DepNode, ...] = ()
    if cand is not None and status not in ("unused",):
        children = tuple(
            _node(res, r.name, r.version, r.optional, parent=name, path=(*path, name))
            for r in cand.manifest.requires
        )
    return DepNode(
        name=name, version=version, spec=spec, optional=optional, status=status, children=children
    )


def _range_status(spec: str, version: str) -> str:
    return "ok" if satisfies(spec, version) else "conflict"


def render_tree(node: DepNode) -> str:
    """Text lines like ``├── text >=1,<2 -> 1.5.0``."""
    lines = [_label(node)]
    _render(node.children, "", lines)
    return "\n".join(lines)


def _label(node: DepNode) -> str:
    text = node.name
    if node.spec:
        text += f" {node.spec}"
    if node.optional:
        text += " (optional)"
    shown = node.version or "none"
    text += f" {shown}" if not node.spec and not node.optional else f" -> {shown}"
    if node.status != "ok":
        text += f" [{node.status}]"
    return text


def _render(children: tuple[DepNode, ...], prefix: str, lines: list[str]) -> None:
    for i, child in enumerate(children):
        last = i == len(children) - 1
        lines.append(prefix + ("└── " if last else "├── ") + _label(child))
        _render(child.children, prefix + ("    " if last else "│   "), lines)
