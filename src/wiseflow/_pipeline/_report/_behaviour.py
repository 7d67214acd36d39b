"""The report's table of what each sandboxed plugin attempted at run time (issue 15).

The rows come from each worker's audit hook (``_sandbox/_monitor``), reported by the
plugin's own process: hostile text, shown only as escaped table cells, and never a verdict.
"""

from __future__ import annotations

from typing import Any

from ._tables import Table

__all__ = ["behaviour_table"]

#: Rows at most (plugins x kinds) and samples per row.
MAX_ROWS = 200
SAMPLES = 3


def behaviour_table(summary: dict[str, Any]) -> Table | None:
    """Per plugin and kind: attempts, refused by the kernel, beyond the manifest, samples."""
    plugins = summary.get("plugins") or {}
    rows: list[list[Any]] = []
    for name, p in plugins.items() if isinstance(plugins, dict) else ():
        behaviour = p.get("behaviour") if isinstance(p, dict) else None
        kinds = behaviour.get("kinds") if isinstance(behaviour, dict) else None
        for kind, row in kinds.items() if isinstance(kinds, dict) else ():
            if not isinstance(row, dict) or len(rows) >= MAX_ROWS:
                continue
            samples = [
                f"{s.get('what', '')} [{s.get('outcome', '')}]"
                for s in list(row.get("samples") or [])[:SAMPLES]
                if isinstance(s, dict)
            ]
            rows.append(
                [str(name), str(kind), row.get("attempts", 0), row.get("refused", 0),
                 row.get("beyond_manifest", 0), "; ".join(samples)]
            )  # fmt: skip
    if not rows:
        return None
    title = "What plugins attempted at run time (reported by their own process; not a verdict)"
    header = ["instance", "kind", "attempts", "refused by the kernel", "beyond the manifest",
              "first samples"]  # fmt: skip
    return (title, header, rows)
