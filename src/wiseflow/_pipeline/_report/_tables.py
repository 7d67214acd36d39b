"""Turn analyzer results into tables: known shapes get tailored tables, others a generic one.

A table is ``(title, header, rows)``; the HTML and Markdown writers format it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Table", "fmt", "result_tables", "summary_tables"]

Table = tuple[str, list[str], list[list[Any]]]


def fmt(v: Any) -> str:
    """A cell value for people: thousands separators, 4 significant digits."""
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    if isinstance(v, list | tuple):
        return ", ".join(fmt(x) for x in v)
    return "" if v is None else str(v)


def summary_tables(summary: dict[str, Any]) -> list[Table]:
    """Per-stage counts and the errors of a run."""
    out: list[Table] = []
    stages = summary.get("stages") or {}
    if stages:
        rows = [
            [name, s.get("plugin"), s.get("kind"), s.get("in"), s.get("out"), s.get("errors"),
             s.get("seconds"), s.get("records_per_s") or ""]
            for name, s in stages.items()
        ]  # fmt: skip
        out.append(
            (
                "Stages",
                ["stage", "plugin", "kind", "in", "out", "errors", "seconds", "records/s"],
                rows,
            )
        )
    dead = summary.get("dead_letter_sample") or []
    if dead:
        cols = ("record_id", "source", "plugin", "code", "reason")
        rows = [[d.get(c) for c in cols] for d in dead]
        out.append(
            ("Dead letters (first 20)", ["record", "source", "plugin", "code", "reason"], rows)
        )
    errors = summary.get("errors") or []
    if errors:
        rows = [
            [e.get("code"), e.get("plugin"), e.get("message"), e.get("hint") or ""] for e in errors
        ]
        out.append(("Errors", ["code", "plugin", "message", "what to do"], rows))
    return out


def result_tables(result: dict[str, Any]) -> list[Table]:
    """Tables for one analyzer's result.

    Recognised keys: ``tables`` (a list of ``{"title", "columns", "rows"}`` the analyzer
    prepared itself); otherwise every list of rows or mapping of scalars becomes a table.
    """
    prepared = result.get("tables")
    if isinstance(prepared, list):
        out: list[Table] = []
        for t in prepared:
            if isinstance(t, dict) and isinstance(t.get("rows"), list):
                out.append((str(t.get("title", "")), list(t.get("columns", [])), t["rows"]))
        return out
    return _generic(result, "")


def _generic(value: dict[str, Any], prefix: str) -> list[Table]:
    out: list[Table] = []
    scalars = [[k, v] for k, v in value.items() if _scalar(v)]
    if scalars:
        out.append((prefix or "Summary", ["key", "value"], scalars))
    for key, v in value.items():
        title = f"{prefix} / {key}" if prefix else str(key)
        if isinstance(v, dict) and v:
            if all(_scalar(x) for x in v.values()):
                out.append((title, ["key", "value"], [[k, x] for k, x in list(v.items())[:50]]))
            else:
                out.extend(_generic(v, title))
        elif isinstance(v, list) and v:
            rows = v[:50]
            if all(isinstance(r, list | tuple) for r in rows):
                width = max(len(r) for r in rows)
                out.append((title, [f"{i + 1}" for i in range(width)], [list(r) for r in rows]))
            elif all(isinstance(r, dict) for r in rows):
                cols = list(dict.fromkeys(k for r in rows for k in r if _scalar(r[k])))
                out.append((title, cols, [[r.get(c, "") for c in cols] for r in rows]))
            elif all(_scalar(r) for r in rows):
                out.append((title, ["value"], [[r] for r in rows]))
    return out


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, str | int | float | bool)
