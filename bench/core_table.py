"""The table of bench/core.py: its rows, goals, medians and ratios, and how it prints."""

from __future__ import annotations

import statistics
from typing import Any

from core_calls import BUSY, BUSY_LOOPS
from core_processes import BASELINE, BATCH, EMPTY, LEVELS, N_RECORDS, PYTHON

# -- the table -----------------------------------------------------------------------------

#: (row, what, unit, wiseflow measures (the first one is judged), anchors: (name, goal)).
#: A goal is ("min", x): wiseflow / anchor >= x, or ("max", x): wiseflow / anchor <= x.
ROWS: list[tuple[str, str, str, list[str], list[tuple[str, tuple[str, float] | None]]]] = [
    (
        "1",
        f"{N_RECORDS:,} ~300-byte records, generator -> SQLite, whole process",
        "rec/s",
        ["wiseflow run, sandboxed", "wiseflow run, trusted"],
        [
            ("Singer SDK tap | SQL target", ("min", 10.0)),
            ("raw sqlite3 executemany", ("min", 0.6)),
            ("raw sqlite3 + the store's indexes", None),
        ],
    ),
    (
        "1s",
        "`wiseflow run` of a source yielding nothing: start to exit",
        "s",
        [EMPTY.format(level=level) for level in LEVELS],
        [(PYTHON, None)],
    ),
    (
        "2",
        f"Store.write_batch alone, {BATCH}-record batches",
        "rec/s",
        ["Store.write_batch"],
        [("raw sqlite3, same schema and indexes", None)],
    ),
    (
        "3",
        "one trusted call",
        "us",
        ["PluginHandle.invoke, trusted", "InProcessRunner.call alone"],
        [("pluggy, one hookimpl", ("max", 0.5)), ("plain method call", None)],
    ),
    (
        "4",
        "sandboxed call round trip",
        "us",
        ["PluginHandle.invoke, sandboxed", "WorkerRunner.call alone"],
        [
            ("blocking pipe ping-pong, two processes", ("max", 2.0)),
            ("pipe ping-pong, poll 50 us, then sleep", None),
        ],
    ),
    (
        "4b",
        f"the same, with {BUSY_LOOPS} busy-loop processes running (one per core)",
        "us",
        [f"PluginHandle.invoke, sandboxed{BUSY}", f"WorkerRunner.call alone{BUSY}"],
        [
            (f"blocking pipe ping-pong, two processes{BUSY}", ("max", 2.0)),
            (f"pipe ping-pong, poll 50 us, then sleep{BUSY}", None),
        ],
    ),
]


def with_baseline(rows: list[Any]) -> list[Any]:
    """Rows 1, 1s and 2 with each wiseflow measure's ``--baseline`` twin (never judged)."""
    return [
        (row, what, unit, [*ours, *(k + BASELINE for k in ours)] if row in "1 1s 2" else ours,
         anchors)
        for row, what, unit, ours, anchors in rows
    ]  # fmt: skip


def build_report(samples: dict[str, list[float]], meta: dict[str, Any]) -> dict[str, Any]:
    def med(label: str) -> float | None:
        got = samples.get(label)
        return statistics.median(got) if got else None

    def r(ours: str, anchor: str) -> float | None:
        a, b = med(ours), med(anchor)
        return a / b if a and b else None

    rows = []
    for row, what, unit, ours, anchors in with_baseline(ROWS) if meta["baseline"] else ROWS:
        goals = []
        for name, goal in anchors:
            ratio = r(ours[0], name)
            entry: dict[str, Any] = {"anchor": name, "ratio": ratio, "goal": None, "verdict": None}
            if goal is not None:
                op, x = goal
                entry["goal"] = f"{'>=' if op == 'min' else '<='} {x:g}x"
                met = ratio is not None and (ratio >= x if op == "min" else ratio <= x)
                entry["verdict"] = "not measured" if ratio is None else "met" if met else "not met"
            goals.append(entry)
        rows.append(
            {
                "row": row,
                "what": what,
                "unit": unit,
                "wiseflow": {k: med(k) for k in ours},
                "anchors": {name: med(name) for name, _ in anchors},
                "ratios": goals,
                "all_ratios": {k: {a: r(k, a) for a, _ in anchors} for k in ours},
                "samples": {k: samples.get(k, []) for k in [*ours, *(a for a, _ in anchors)]},
            }
        )
    means = {k[: -len(" (mean)")]: med(k) for k in samples if k.endswith(" (mean)")}
    return {**meta, "rows": rows, "means": means}


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return f"{'not measured':>14}       "
    return f"{value:>14,.{ {'us': 2, 's': 3}.get(unit, 0) }f} {unit:<6}"


def print_report(report: dict[str, Any]) -> None:
    print(
        "issue 11 goals, medians of interleaved rounds ("
        + ", ".join(f"{n} {what}" for what, n in report["rounds"].items())
        + f"); load average {report['load_average'][0]:.2f} at start,"
        f" {report['load_average'][1]:.2f} at end, {report['cores']} cores"
    )
    print(
        f"records of {report['record_bytes']:.0f} bytes of field values"
        f" ({report['record_json_bytes']:.0f} as a JSON object); Singer SDK"
        f" {report['singer_sdk']}; ratio = wiseflow's first measure / the anchor"
    )
    if report["baseline"]:
        print(f"baseline: the wiseflow in {report['baseline']} (its host; workers: this one's)")
    print(f"{'':4}{'measure':<48}{'median':>14} {'unit':<6}{'ratio':>8}  {'goal':<9}verdict")
    for row in report["rows"]:
        print(f"{row['row']}. {row['what']}")
        for name, value in row["wiseflow"].items():
            print(f"{'':4}{name:<48}{_figure(value, row['unit'])}")
        for g in row["ratios"]:
            shown = _figure(row["anchors"][g["anchor"]], row["unit"])
            ratio = f"{g['ratio']:>7.2f}x" if g["ratio"] else f"{'':>8}"
            print(
                f"{'':4}{g['anchor']:<48}{shown}{ratio}  {g['goal'] or '':<9}{g['verdict'] or ''}"
            )
    for err in report["errors"]:
        print(f"  not measured: {err}")
