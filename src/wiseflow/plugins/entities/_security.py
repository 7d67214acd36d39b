"""What a security analyst asks of changelog-like records: CVE fixes per package, the
urgency of the uploads, the most recently fixed CVEs, and the dates the data covers.

A record "fixes" a CVE when it is an entry of a package (``data.package``) whose text names
the CVE; the fix is the package's earliest entry naming it (later ones are follow-ups).
Urgency is the record's ``data.urgency`` (the Debian changelog field), lower-cased.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from wiseflow import Record
from wiseflow.plugins._shared.ranking import ranked

__all__ = ["URGENT", "Coverage", "Security"]

URGENT = ("emergency", "critical", "high")
_ORDER = (*URGENT, "medium", "low")
_FIX_LIMIT = 500_000  # (CVE, package) pairs kept: bounded memory on hostile input
_TEXT = 120  # characters kept of a package, version or urgency string


class Coverage:
    """How many records, and the first and last time among them."""

    def __init__(self) -> None:
        self.records = 0
        self.undated = 0
        self.first: datetime | None = None
        self.last: datetime | None = None

    def add(self, record: Record) -> None:
        self.records += 1
        t = record.time
        if t is None:
            self.undated += 1
            return
        if self.first is None or t < self.first:
            self.first = t
        if self.last is None or t > self.last:
            self.last = t

    def result(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "undated": self.undated,
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
        }


def _text(value: Any) -> str | None:
    return value[:_TEXT] if isinstance(value, str) and value else None


class Security:
    """CVE fixes per package, urgency counts and the first fix of every (CVE, package)."""

    def __init__(self) -> None:
        self.urgency: Counter[str] = Counter()
        self.urgency_cve: Counter[str] = Counter()
        self.entries_cve: Counter[str] = Counter()  # entries naming a CVE, per package
        self.fixes: dict[tuple[str, str], tuple[str, str, str]] = {}  # -> (date, version, urg)
        self.with_cves = 0

    def add(self, record: Record, cves: list[str]) -> None:
        urgency = (_text(record.data.get("urgency")) or "").lower()
        if urgency:
            self.urgency[urgency] += 1
        package = _text(record.data.get("package"))
        if not cves:
            return
        self.with_cves += 1
        if urgency:
            self.urgency_cve[urgency] += 1
        if package is None:
            return
        self.entries_cve[package] += 1
        when = record.time.isoformat() if record.time else ""
        version = _text(record.data.get("version")) or ""
        for cve in cves:
            key = (cve, package)
            old = self.fixes.get(key)
            if old is None and len(self.fixes) >= _FIX_LIMIT:
                continue
            if old is None or (when and (not old[0] or when < old[0])):
                self.fixes[key] = (when, version, urgency)

    def result(self, top: int) -> dict[str, Any]:
        per_pkg: Counter[str] = Counter(pkg for _, pkg in self.fixes)
        last_fix: dict[str, str] = {}
        for (_, pkg), (when, _, _) in self.fixes.items():
            if when > last_fix.get(pkg, ""):
                last_fix[pkg] = when
        by_package = [
            [pkg, n, self.entries_cve[pkg], last_fix.get(pkg, "")[:10]]
            for pkg, n in ranked(per_pkg, top)
        ]
        recent = sorted(self.fixes.items(), key=lambda kv: (kv[1][0], kv[0]), reverse=True)
        order = [u for u in _ORDER if u in self.urgency] + sorted(set(self.urgency) - set(_ORDER))
        uploads: dict[tuple[str, str], list[Any]] = {}  # (package, version) -> its new fixes
        for (cve, pkg), (when, version, urgency) in recent:
            row = uploads.setdefault((pkg, version), [when, pkg, version, urgency, 0, []])
            row[4] += 1
            if len(row[5]) < 4:
                row[5].append(cve)
        latest = sorted(uploads.values(), key=lambda r: (r[0], r[1], r[2]), reverse=True)[:top]
        return {
            "entries_with_cves": self.with_cves,
            "distinct_cves": len({cve for cve, _ in self.fixes}),
            "fixes": len(self.fixes),
            "by_package": by_package,
            "urgency": [[u, self.urgency[u], self.urgency_cve[u]] for u in order],
            "urgent": sum(self.urgency[u] for u in URGENT),
            "uploads": [
                [row[0][:10], *row[1:5], ", ".join(row[5]) + (", …" if row[4] > 4 else "")]
                for row in latest
            ],
            "recent": [
                [cve, pkg, version, when[:10], urgency]
                for (cve, pkg), (when, version, urgency) in recent[:top]
            ],
        }


def security_tables(sec: dict[str, Any]) -> list[dict[str, Any]]:
    """The analyst's tables, questions first."""
    return [
        {
            "title": "CVE fixes per package",
            "columns": ["package", "CVEs fixed", "entries naming CVEs", "latest fix"],
            "rows": sec["by_package"],
            "lead": True,
        },
        {
            "title": "Latest uploads fixing CVEs (newest first)",
            "columns": ["date", "package", "version", "urgency", "CVEs fixed", "CVEs"],
            "rows": sec["uploads"],
            "lead": True,
        },
        {
            "title": "Most recently fixed CVEs (first entry naming each CVE, per package)",
            "columns": ["CVE", "package", "version", "date", "urgency"],
            "rows": sec["recent"],
            "lead": True,
        },
        {
            "title": "Uploads by urgency (high, critical and emergency first)",
            "columns": ["urgency", "entries", "entries naming CVEs"],
            "rows": sec["urgency"],
            "lead": True,
        },
    ]
