"""Turn analyzer results into tables: known shapes get tailored tables, others a generic one.

A table is ``(title, header, rows)``; the HTML and Markdown writers format it.

Results come from plugins: any shape may arrive. Prepared tables are brought to the table
shape (a row that is not a list becomes one), nesting is followed :data:`MAX_NEST` levels
deep (deeper values are shown as ``…``), and titles built from nested keys are cut to
:data:`TITLE_CHARS`, so a result costs the report about its own size, never a recursion
error or a title per level that repeats every key above it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Card", "Table", "covered_cards", "fmt", "lead_figures", "plugin_table",
           "result_tables", "run_cards", "summary_tables", "unshown"]  # fmt: skip

Table = tuple[str, list[str], list[list[Any]]]

#: Levels of nested lists (in a cell) and mappings (in a result) shown; deeper: ``…``.
MAX_NEST = 8
#: The longest table title built from a result's keys.
TITLE_CHARS = 200


def fmt(v: Any, _depth: int = 0) -> str:
    """A cell value for people: thousands separators, 4 significant digits."""
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    if isinstance(v, list | tuple):
        return "…" if _depth >= MAX_NEST else ", ".join(fmt(x, _depth + 1) for x in v)
    if v is None or isinstance(v, str):
        return v or ""
    try:
        return str(v)
    except RecursionError:  # a mapping nested deeper than the stack: its text is not shown
        return "…"


Card = tuple[str, Any]


def run_cards(summary: dict[str, Any]) -> list[Card]:
    """What this run did: its records, its real duration and the rate from it."""
    rec = summary.get("records", {})
    return [
        ("records fetched", rec.get("fetched", 0)),
        ("new records stored", rec.get("stored", 0)),
        ("already stored", rec.get("duplicates", 0)),
        ("dead letters", rec.get("dead_letters", 0)),
        ("seconds (wall time)", summary.get("seconds", 0)),
        ("records fetched / s", summary.get("records_per_s", 0)),
    ]


def covered_cards(summary: dict[str, Any], results: dict[str, dict[str, Any]]) -> list[Card]:
    """What the analyzers covered (all stored records with ``analyze = "stored"``): the
    records they read, then each analyzer's own ``cards`` (``[[label, value], ...]``)."""
    analyzed: list[int] = [
        s["in"] for s in (summary.get("stages") or {}).values()
        if isinstance(s, dict) and s.get("kind") == "analyzer" and isinstance(s.get("in"), int)
    ]  # fmt: skip
    out: list[Card] = []
    if analyzed:
        out.append(("records analyzed", max(analyzed)))
    seen = {label for label, _ in out}
    for result in results.values():
        cards = result.get("cards") if isinstance(result, dict) else None
        for card in cards if isinstance(cards, list) else []:
            if isinstance(card, list | tuple) and len(card) == 2 and _scalar(card[1]):
                label = fmt(card[0])[:80]
                if label not in seen and len(out) < 12:
                    seen.add(label)
                    out.append((label, card[1]))
    return out


def plugin_table(summary: dict[str, Any]) -> Table | None:
    """Every plugin of the run with its work and resources (CPU, memory, calls, errors)."""
    plugins = summary.get("plugins") or {}
    stages = summary.get("stages") or {}
    if not isinstance(plugins, dict) or not plugins:
        return None
    rows = []
    for name, p in plugins.items():
        if not isinstance(p, dict):
            continue
        st, res, breaker = (
            _dict(stages.get(name)),
            _dict(p.get("resources")),
            _dict(p.get("breaker")),
        )
        errors = p.get("errors", 0)
        codes = p.get("error_codes") or []
        rows.append(
            [name, st.get("plugin", ""), st.get("kind", ""), p.get("state", ""),
             p.get("calls", 0), f"{errors} ({fmt(codes)})" if codes else errors,
             st.get("in", ""), st.get("out", ""), st.get("seconds", ""),
             res.get("cpu_s", ""), _memory(res),
             f"{breaker.get('state', '')}, {breaker.get('opens', 0)} opens" if breaker else "",
             p.get("restarts", "")]
        )  # fmt: skip
    header = ["instance", "plugin", "kind", "state", "calls", "errors", "in", "out",
              "busy s", "CPU s", "peak memory MB", "breaker", "restarts"]  # fmt: skip
    return ("Per plugin: calls, errors, records, time, CPU and memory", header, rows)


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


def result_tables(result: dict[str, Any], lead: bool | None = None) -> list[Table]:
    """Tables for one analyzer's result.

    Recognised keys: ``tables`` (a list of ``{"title", "columns", "rows"}`` the analyzer
    prepared itself; ``"lead": true`` marks the ones that answer the section's main
    questions); otherwise every list of rows or mapping of scalars becomes a table.

    Args:
        lead: True: only the lead tables; False: only the others; None: all, in order.
    """
    prepared = result.get("tables")
    if isinstance(prepared, list):
        out: list[Table] = []
        for t in prepared:
            wanted = isinstance(t, dict) and (lead is None or (t.get("lead") is True) == lead)
            if wanted and isinstance(t.get("rows"), list):
                cols = t.get("columns")
                columns = [fmt(c) for c in cols] if isinstance(cols, list) else []
                rows = [_row(r, columns) for r in t["rows"]]
                out.append((str(t.get("title", "")), columns, rows))
        return out
    return [] if lead else _generic(result, "", 0)


def _row(r: Any, columns: list[str]) -> list[Any]:
    """One row of a prepared table as a list, whatever the plugin sent."""
    if isinstance(r, list | tuple):
        return list(r)
    if isinstance(r, dict):
        return [r.get(c, "") for c in columns] if columns else list(r.values())
    return [r]


def lead_figures(result: dict[str, Any], count: int) -> int:
    """How many of an analyzer's ``count`` figures come before its lead tables
    (``"lead_figures"`` in its result; 0 without lead tables)."""
    n = result.get("lead_figures")
    return max(0, min(n, count)) if isinstance(n, int) and not isinstance(n, bool) else 0


def _generic(value: dict[str, Any], prefix: str, depth: int) -> list[Table]:
    out: list[Table] = []
    scalars = [[k, v] for k, v in value.items() if _scalar(v)]
    if scalars:
        out.append((prefix or "Summary", ["key", "value"], scalars))
    for key, v in value.items():
        title = (f"{prefix} / {key}" if prefix else str(key))[:TITLE_CHARS]
        if isinstance(v, dict) and v:
            if all(_scalar(x) for x in v.values()):
                out.append((title, ["key", "value"], [[k, x] for k, x in list(v.items())[:50]]))
            elif depth < MAX_NEST:
                out.extend(_generic(v, title, depth + 1))
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


def unshown(exc: BaseException) -> str:
    """The note shown in place of an analyzer's section that could not be rendered."""
    return (
        f"this section could not be shown: its result broke the report ({type(exc).__name__}); "
        "a .json report keeps the result as sent"
    )


def _memory(res: dict[str, Any]) -> Any:
    """Peak memory of the plugin's worker; "n/a" for a plugin in the host (no worker)."""
    peak = res.get("peak_rss_mb", res.get("memory_mb"))
    return "n/a" if peak is None and res else ("" if peak is None else peak)


def _dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, str | int | float | bool)
