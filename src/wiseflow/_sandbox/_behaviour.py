"""The host's per-plugin, per-run summary of a worker's behaviour telemetry (``_monitor``).

Telemetry is hostile data: the plugin runs in the process that produces it and can forge or
suppress it. So it is merged bounded (counts capped, the first :data:`SAMPLES` samples and
at most :data:`TARGETS` targets per kind kept, texts cut) and it never decides anything: it
is shown to operators (run document, ``runs show``, dashboard, report), labelled as what the
plugin's process reported. Attempts beyond what the manifest declares and the operator
granted are flagged ("declares no network, attempted 3").
"""

from __future__ import annotations

import os
import threading
from typing import Any, final

from ._messages import Telemetry

__all__ = ["KINDS", "Behaviour"]

KINDS = ("file", "network", "process", "native", "import", "code")
SAMPLES = 5
TARGETS = 32
TEXT = 240
_CAP = 1 << 53  # counts stay exact JSON numbers whatever a worker claims
_OUTCOMES = frozenset({"refused", "allowed", "failed", "attempted"})
#: What the manifest can declare for each kind (None: nothing declares it).
_DECLARED_BY = {"file": "fs_read/fs_write", "network": "network", "process": "subprocess"}


@final
class Behaviour:
    """Attempts reported by one plugin instance's worker(s) during a run.

    Args:
        permissions: the grant in force (``network``, ``fs_read``, ``fs_write``,
            ``subprocess``), or None (nothing granted).
    """

    def __init__(self, permissions: Any = None) -> None:
        self.network = {str(n).lower() for n in getattr(permissions, "network", ()) or ()}
        read = getattr(permissions, "fs_read", ()) or ()
        roots = (*read, *(getattr(permissions, "fs_write", ()) or ()))
        self.fs_roots = tuple(os.path.abspath(str(r)) for r in roots)
        self.subprocess = bool(getattr(permissions, "subprocess", False))
        self.frames = 0
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.refused: dict[str, int] = {}
        self.samples: dict[str, list[dict[str, str]]] = {}
        self.targets: dict[str, dict[str, int]] = {}
        self.other: dict[str, int] = {}  # attempts at targets beyond the TARGETS kept

    def add(self, msg: Telemetry) -> None:
        """Merge one frame (a delta) into the summary, bounded whatever it claims."""
        with self._lock:
            self.frames += 1
            for kind, n in msg.counts.items():
                if kind in KINDS:
                    self.counts[kind] = min(_CAP, self.counts.get(kind, 0) + n)
            for kind, n in msg.refused.items():
                if kind in KINDS:
                    self.refused[kind] = min(_CAP, self.refused.get(kind, 0) + n)
            for kind, rows in msg.samples.items():
                kept = self.samples.setdefault(kind, []) if kind in KINDS else []
                for row in rows:
                    if len(kept) >= SAMPLES or kind not in KINDS:
                        break
                    what, target, outcome = ([*list(row), "", "", ""])[:3]
                    outcome = outcome if outcome in _OUTCOMES else "attempted"
                    kept.append({"what": what[:TEXT], "target": target[:TEXT], "outcome": outcome})
            for kind, seen in msg.targets.items():
                if kind not in KINDS:
                    continue
                mine = self.targets.setdefault(kind, {})
                for target, n in seen.items():
                    if target in mine or len(mine) < TARGETS:
                        mine[target[:TEXT]] = min(_CAP, mine.get(target[:TEXT], 0) + n)
                    else:
                        self.other[kind] = min(_CAP, self.other.get(kind, 0) + n)

    def _declared(self, kind: str, target: str) -> bool:
        if kind == "network":
            host, _, port = target.rpartition(":")
            host = host.strip("[]").lower()
            return f"{host}:{port}" in self.network or f"{host}:*" in self.network
        if kind == "file":
            path = os.path.abspath(target)
            return any(path == r or path.startswith(r.rstrip("/") + "/") for r in self.fs_roots)
        return False

    def flagged(self, kind: str) -> int:
        """Attempts of ``kind`` beyond the grant (targets not granted, and attempts without a
        target when nothing of the kind is granted)."""
        count = self.counts.get(kind, 0)
        if kind == "process":
            return 0 if self.subprocess else count
        if kind not in _DECLARED_BY:
            return count  # native loads, imports from elsewhere, dynamic code: undeclarable
        targets = self.targets.get(kind, {})
        granted = sum(n for t, n in targets.items() if self._declared(kind, t))
        untargeted = count - sum(targets.values()) - self.other.get(kind, 0)
        if kind == "network" and self.network:
            granted += max(0, untargeted)  # a socket made to reach a granted host
        return max(0, count - granted)

    def to_dict(self) -> dict[str, Any] | None:
        """The summary for the run document (None when nothing was reported)."""
        with self._lock:
            if not self.counts:
                return None
            kinds = {}
            flags = []
            for kind in KINDS:
                count = self.counts.get(kind, 0)
                if not count:
                    continue
                beyond = self.flagged(kind)
                kinds[kind] = {
                    "attempts": count,
                    "refused": min(count, self.refused.get(kind, 0)),
                    "beyond_manifest": beyond,
                    "samples": list(self.samples.get(kind, [])),
                }
                if beyond:
                    granted = bool(self.network) if kind == "network" else self.subprocess
                    flags.append(_flag(kind, beyond, granted))
            return {"source": "worker audit hook (reported by the plugin's process)",
                    "frames": self.frames, "kinds": kinds, "flags": flags}  # fmt: skip


_NOUNS = {
    "file": "file open(s) outside its data dir, folder and granted paths",
    "network": "network operation(s)",
    "process": "process execution(s)",
    "native": "native library load(s)",
    "import": "module(s) imported from outside its folder and the runtime",
    "code": "compile/exec of code from strings",
}


def _flag(kind: str, n: int, granted: bool) -> str:
    """``declares no network, attempted 3 network operation(s)`` (a line operators read)."""
    noun = _NOUNS[kind]
    if kind in ("network", "process") and not granted:
        return f"declares no {_DECLARED_BY[kind]}, attempted {n} {noun}"
    if kind == "network":
        return f"attempted {n} {noun} to hosts not granted"
    if kind == "file":
        return f"attempted {n} {noun}"
    return f"{n} {noun} (a manifest cannot declare these)"
