"""The debian-security report's numbers, cross-checked against the database.

A small real corpus of changelog.Debian.gz files (written here, so the numbers are known)
goes through the main job's pipeline with sandboxed plugins; the report's cards and
tables are read back from the HTML and compared with what SQL and a plain regex over the
stored records say. A second, incremental run adds one changelog: the cards then show
this run (1 record) beside the data covered (all of them).
"""

from __future__ import annotations

import gzip
import json
import re
import sqlite3
from collections import defaultdict
from datetime import datetime
from email.utils import format_datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import msgspec

import wiseflow
from wiseflow._pipeline import load_pipeline
from wiseflow._policy._operator import OperatorConfig

EXAMPLE = Path(__file__).parent.parent.parent / "examples" / "debian-security.toml"

# package -> entries (version, date, urgency, text), newest first as in a real changelog
CORPUS: dict[str, list[tuple[str, str, str, str]]] = {
    "linux": [
        ("6.1.11-1", "2024-03-20T10:00:00+00:00", "high",
         "Fix CVE-2024-0004 and CVE-2024-0005. Fix a regression of CVE-2024-0001."),
        ("6.1.10-1", "2024-03-05T10:00:00+00:00", "high",
         "Fix CVE-2024-0001, CVE-2024-0002 and CVE-2024-0003."),
        ("6.1.9-1", "2023-11-02T10:00:00+00:00", "medium", "New upstream release."),
    ],
    "openssl": [
        ("3.0.2-1", "2024-01-10T09:30:00+00:00", "critical", "Fix CVE-2023-9999."),
        ("3.0.1-1", "2023-06-01T09:30:00+00:00", "medium",
         "Fix CVE-2023-1111. Rebuild for new linux headers."),
    ],
    "bash": [
        ("5.2-1", "2023-08-15T12:00:00+00:00", "low", "Rebuild against openssl and zlib."),
        ("5.1-1", "2022-12-24T12:00:00+00:00", "low", "Document linux behaviour; see openssl."),
    ],
    "zlib": [
        ("1.3-1", "2024-02-29T08:00:00+00:00", "emergency", "Fix CVE-2024-0002 in inflate."),
    ],
}  # fmt: skip
LATER = {"curl": [("8.5-1", "2024-04-02T07:00:00+00:00", "high", "Fix CVE-2024-7777.")]}
CVE = re.compile(r"CVE-\d{4}-\d{4,7}")


def _write(root: Path, corpus: dict[str, list[tuple[str, str, str, str]]]) -> None:
    for package, entries in corpus.items():
        blocks = [
            f"{package} ({version}) unstable; urgency={urgency}\n\n  * {text}\n\n"
            f" -- Ada Lovelace <ada@debian.org>  {format_datetime(datetime.fromisoformat(when))}\n"
            for version, when, urgency, text in entries
        ]
        (root / package).mkdir(parents=True)
        data = "\n".join(blocks).encode()
        (root / package / "changelog.Debian.gz").write_bytes(gzip.compress(data, mtime=0))


class _Page(HTMLParser):
    """Cards (label -> value) and tables (title -> rows of cell texts) of a report."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cards: dict[str, str] = {}
        self.tables: dict[str, list[list[str]]] = {}
        self._tag = ""
        self._value = ""
        self._title = ""
        self._row: list[str] | None = None
        self._cell: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag = tag
        if tag == "tr":
            self._row = []
        elif tag == "td":
            self._cell = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._row is not None and self._cell is not None:
            self._row.append(self._cell)
            self._cell = None
        elif tag == "tr" and self._row:
            self.tables.setdefault(self._title, []).append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell += data
        elif self._tag == "b":
            self._value = data
        elif self._tag == "span" and self._value:
            self.cards[data] = self._value
            self._value = ""
        elif self._tag == "h3":
            self._title = data


def _run(root: Path, data: Path, report: Path) -> dict[str, Any]:
    pipeline = load_pipeline(EXAMPLE)
    source = msgspec.structs.replace(pipeline.sources[0], config={"root": str(root)})
    trends = pipeline.analyzers[1]  # a fixed "today": the forecast's months are known
    trends = msgspec.structs.replace(trends, config={**trends.config, "as_of": "2024-04-15"})
    pipeline = msgspec.structs.replace(
        pipeline, sources=(source,), analyzers=(pipeline.analyzers[0], trends)
    )
    result = wiseflow.run_pipeline(
        pipeline, config=OperatorConfig(), data_dir=data, report=report
    )  # sandboxed workers, as `make demo` runs them
    summary = result.to_dict()
    assert summary["status"] == "ok", summary["errors"]
    return summary


def _expected(db: Path) -> dict[str, Any]:
    """The analyst's numbers, computed from the stored records with SQL and a regex."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT time, text, data FROM records").fetchall()
        urgency = dict(
            conn.execute(
                "SELECT json_extract(data, '$.urgency'), count(*) FROM records GROUP BY 1"
            ).fetchall()
        )
        first, last = conn.execute("SELECT min(time), max(time) FROM records").fetchone()
    fixes: dict[tuple[str, str], tuple[str, str]] = {}
    packages = {json.loads(d)["package"] for _, _, d in rows}
    mentions = dict.fromkeys(packages, 0)
    for time, text, data in rows:
        d = json.loads(data)
        for cve in set(CVE.findall(text)):
            key = (cve, d["package"])
            if key not in fixes or time < fixes[key][0]:
                fixes[key] = (time, d["version"])
        for p in packages:
            mentions[p] += bool(re.search(rf"(?<![\w.-]){re.escape(p)}(?![\w-])", text))
    per_pkg: dict[str, set[str]] = defaultdict(set)
    for cve, pkg in fixes:
        per_pkg[pkg].add(cve)
    recent = sorted(fixes.items(), key=lambda kv: (kv[1][0], kv[0]), reverse=True)
    uploads: dict[tuple[str, str], list[Any]] = {}
    for (_, pkg), (time, version) in fixes.items():
        uploads.setdefault((pkg, version), [time, pkg, version, 0])[3] += 1
    return {
        "records": len(rows),
        "urgency": urgency,
        "first": first[:10],
        "last": last[:10],
        "per_pkg": {p: len(c) for p, c in per_pkg.items()},
        "distinct": len({cve for cve, _ in fixes}),
        "recent": [[c, p, v, t[:10]] for (c, p), (t, v) in recent],
        "mentions": {p: n for p, n in mentions.items() if n},
        "uploads": [[r[0][:10], r[1], r[2], str(r[3])] for r in sorted(uploads.values())[::-1]],
    }


def test_report_numbers_match_the_database_also_after_an_incremental_run(
    tmp_path: Path,
) -> None:
    """Cards, CVE fixes per package, urgency counts, the most recently fixed CVEs, the
    dates covered, package mentions and the CVE spike's drivers all agree with the
    database; the second run's cards show this run (1 new) and the data covered (all)."""
    root, data, report = tmp_path / "doc", tmp_path / "data", tmp_path / "report.html"
    _write(root, CORPUS)
    summary = _run(root, data, report)
    want = _expected(data / "wiseflow.db")
    page = _Page()
    page.feed(report.read_text())
    # known by construction, and the same from the database
    assert want["per_pkg"] == {"linux": 5, "openssl": 2, "zlib": 1}
    assert want["mentions"] == {"linux": 2, "openssl": 2, "zlib": 1}
    cards = page.cards
    assert cards["records fetched"] == cards["new records stored"] == str(want["records"])
    assert cards["records analyzed"] == str(want["records"])
    assert cards["first dated record"] == want["first"] == "2022-12-24"
    assert cards["last dated record"] == want["last"] == "2024-03-20"
    assert cards["distinct CVEs fixed"] == str(want["distinct"]) == "7"
    urgent = sum(want["urgency"].get(u, 0) for u in ("high", "critical", "emergency"))
    assert cards["high / critical / emergency uploads"] == str(urgent) == "4"
    seconds = float(cards["seconds (wall time)"])  # measured when the report was written
    assert 0 < seconds <= summary["seconds"]  # the run document's is taken at the very end
    assert abs(float(cards["records fetched / s"]) - want["records"] / seconds) < 0.1

    by_pkg = page.tables["CVE fixes per package"]
    assert {r[0]: int(r[1]) for r in by_pkg} == want["per_pkg"]
    assert [r[0] for r in by_pkg] == ["linux", "openssl", "zlib"]  # most fixes first
    recent = page.tables["Most recently fixed CVEs (first entry naming each CVE, per package)"]
    assert [r[:4] for r in recent] == want["recent"]
    assert recent[0][:2] == ["CVE-2024-0005", "linux"] and recent[0][2] == "6.1.11-1"
    assert ["CVE-2024-0001", "linux", "6.1.10-1", "2024-03-05"] in [r[:4] for r in recent]
    uploads = page.tables["Latest uploads fixing CVEs (newest first)"]
    assert [[r[0], r[1], r[2], r[4]] for r in uploads] == want["uploads"]
    assert uploads[1][:5] == ["2024-03-05", "linux", "6.1.10-1", "high", "3"]
    assert uploads[1][5] == "CVE-2024-0003, CVE-2024-0002, CVE-2024-0001"
    urgency = page.tables["Uploads by urgency (high, critical and emergency first)"]
    assert {r[0]: int(r[1]) for r in urgency} == want["urgency"]
    assert [r[0] for r in urgency][:3] == ["emergency", "critical", "high"]
    mentioned = page.tables["Most mentioned packages"]
    assert {r[0]: int(r[1]) for r in mentioned} == want["mentions"]
    spikes = page.tables[
        "CVE spikes (z >= 3 over the trailing baseline) and the packages behind them"
    ]
    assert spikes[-1][0] == "2024-03" and spikes[-1][1] == "6"
    assert spikes[-1][4].startswith("linux 6 (100%)")
    forecast = next(rows for title, rows in page.tables.items() if title.startswith("Forecast"))
    assert [r[0] for r in forecast] == ["2024-04", "2024-05", "2024-06"]  # after 2024-03
    plugins = page.tables["Per plugin: calls, errors, records, time, CPU and memory"]
    assert [r[0] for r in plugins] == ["changelogs", "text", "entities", "trends"]
    for row in plugins:
        assert int(row[4]) >= 1 and row[5] == "0"  # calls, errors
        assert float(row[9]) >= 0 and float(row[10]) > 0  # CPU s, peak memory MB of a worker

    _write(root, LATER)  # the incremental run reads only the new file
    summary = _run(root, data, report)
    want = _expected(data / "wiseflow.db")
    page = _Page()
    page.feed(report.read_text())
    assert summary["records"]["stored"] == 1
    assert page.cards["records fetched"] == page.cards["new records stored"] == "1"
    assert page.cards["records analyzed"] == str(want["records"]) == "9"
    assert page.cards["distinct CVEs fixed"] == str(want["distinct"]) == "8"
    assert page.cards["last dated record"] == want["last"] == "2024-04-02"
    recent = page.tables["Most recently fixed CVEs (first entry naming each CVE, per package)"]
    assert recent[0][:4] == want["recent"][0] == ["CVE-2024-7777", "curl", "8.5-1", "2024-04-02"]
