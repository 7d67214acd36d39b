"""A plugin's runtime behaviour (the worker's audit-hook summary) as lines for a terminal.

The summary comes from the plugin's own process (see ``_sandbox/_monitor``): every text in
it is hostile. Callers print each line through the terminal sanitiser.
"""

from __future__ import annotations

from typing import Any

__all__ = ["behaviour_lines"]


def behaviour_lines(behaviour: Any, samples: int = 3) -> list[str]:
    """``behaviour: declares no network, attempted 3 network operation(s)`` and so on:
    the flags first, then per kind its counts and first samples (at most ``samples``)."""
    if not isinstance(behaviour, dict):
        return []
    kinds = behaviour.get("kinds")
    if not isinstance(kinds, dict) or not kinds:
        return []
    lines = [f"behaviour (reported by the plugin's process, not a verdict): {len(kinds)} kind(s)"]
    for flag in list(behaviour.get("flags") or [])[:8]:
        lines.append(f"  flagged: {flag}")
    for kind, row in list(kinds.items())[:8]:
        if not isinstance(row, dict):
            continue
        lines.append(
            f"  {kind}: {row.get('attempts', 0)} attempt(s), {row.get('refused', 0)} refused "
            f"by the kernel, {row.get('beyond_manifest', 0)} beyond the manifest"
        )
        for sample in list(row.get("samples") or [])[:samples]:
            if isinstance(sample, dict):
                lines.append(f"    {sample.get('what', '')} [{sample.get('outcome', '')}]")
    return lines
