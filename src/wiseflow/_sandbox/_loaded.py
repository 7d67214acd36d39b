"""What a worker says about the plugin it loaded, checked before the host reads it.

A worker's ``Loaded`` carries the plugin's config schema and, for ``plugins check``, the
interface problems it found. Both are built by code the plugin runs beside (it can replace
the functions that build them), so both are hostile data: the host's readers (``plugins
info``, ``plugins check``, the conformance suite) walk them as JSON Schema and as
``Problem`` rows. :func:`checked_loaded` accepts only that shape, within bounds, and says
what is wrong otherwise (the runner turns it into WF406). A schema of any other shape used
to end ``plugins info`` with an internal error (exit 4).
"""

from __future__ import annotations

from typing import Any

import msgspec

from .._contract._errors import Problem

__all__ = ["MAX_DEPTH", "MAX_ITEMS", "MAX_PROBLEMS", "MAX_TEXT", "checked_loaded"]

#: Containers nested in a schema (msgspec's schemas of real configs nest fewer than 10).
MAX_DEPTH = 32
#: Values (entries and items) in one schema.
MAX_ITEMS = 20_000
#: Characters in one string or key of a schema.
MAX_TEXT = 10_000
#: Problem rows one worker may report (it sends its first 50).
MAX_PROBLEMS = 50

# Keys whose value is one schema, a list of schemas, or a mapping of names to schemas:
# what the host's readers descend into. Values under any other key (default, enum,
# examples, const) are data and may hold anything JSON can.
_ONE = ("items", "additionalProperties", "not", "propertyNames", "contains")
_LIST = ("anyOf", "oneOf", "allOf", "prefixItems")
_MAP = ("properties", "$defs", "patternProperties")


def checked_loaded(schema: Any, problems: Any) -> tuple[dict[str, Any] | None, list[Problem]]:
    """``(schema, problems)`` as the host may read them.

    Raises:
        ValueError: naming what is malformed (the caller reports WF406).
    """
    if schema is not None:
        if not isinstance(schema, dict):
            raise ValueError("a config schema that is not a mapping")
        _bounded(schema)
        _shaped(schema)
    rows: list[Problem] = []
    if problems is not None:
        if not isinstance(problems, list) or len(problems) > MAX_PROBLEMS:
            raise ValueError(f"interface problems that are not a list of at most {MAX_PROBLEMS}")
        for row in problems:
            try:
                problem = msgspec.convert(row, type=Problem)
            except msgspec.ValidationError as exc:
                raise ValueError(f"a malformed interface problem ({str(exc)[:200]})") from None
            if any(len(v) > MAX_TEXT for v in _texts(problem)):
                raise ValueError("an interface problem with an oversized text")
            rows.append(problem)
    return schema, rows


def _texts(p: Problem) -> list[str]:
    return [v for v in (p.code, p.message, p.hint, p.file, p.plugin, p.rule, p.severity) if v]


def _bounded(schema: dict[str, Any]) -> None:
    """Depth, count and string lengths, by an explicit walk (no recursion)."""
    count = 0
    todo: list[tuple[Any, int]] = [(schema, 1)]
    while todo:
        value, depth = todo.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"a config schema nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            children = list(value.values())
            if any(not isinstance(k, str) or len(k) > MAX_TEXT for k in value):
                raise ValueError("a config schema with a key that is not a short string")
        elif isinstance(value, list):
            children = value
        else:
            if isinstance(value, str) and len(value) > MAX_TEXT:
                raise ValueError(f"a config schema with a string over {MAX_TEXT} characters")
            continue
        count += len(children)
        if count > MAX_ITEMS:
            raise ValueError(f"a config schema of more than {MAX_ITEMS} values")
        todo.extend((c, depth + 1) for c in children)


def _shaped(schema: dict[str, Any]) -> None:
    """Every schema node the host reads is a mapping, with the types JSON Schema gives."""
    todo: list[Any] = [schema]
    while todo:
        node = todo.pop()
        if isinstance(node, bool):
            continue  # `true` / `false` are schemas too (msgspec: "items": false)
        if not isinstance(node, dict):
            raise ValueError("a config schema with a subschema that is not a mapping")
        for key in ("$ref", "title", "description"):
            if key in node and not isinstance(node[key], str):
                raise ValueError(f"a config schema whose {key!r} is not a string")
        kind = node.get("type")
        if kind is not None and not (
            isinstance(kind, str)
            or (isinstance(kind, list) and all(isinstance(k, str) for k in kind))
        ):
            raise ValueError("a config schema whose 'type' is not a name or names")
        required = node.get("required")
        if required is not None and not (
            isinstance(required, list) and all(isinstance(r, str) for r in required)
        ):
            raise ValueError("a config schema whose 'required' is not a list of names")
        if "enum" in node and not isinstance(node["enum"], list):
            raise ValueError("a config schema whose 'enum' is not a list")
        todo.extend(node[k] for k in _ONE if k in node)
        for key in _LIST:
            if key in node:
                if not isinstance(node[key], list):
                    raise ValueError(f"a config schema whose {key!r} is not a list")
                todo.extend(node[key])
        for key in _MAP:
            if key in node:
                sub = node[key]
                if not isinstance(sub, dict) or not all(isinstance(v, dict) for v in sub.values()):
                    raise ValueError(f"a config schema whose {key!r} is not a mapping of schemas")
                todo.extend(sub.values())
