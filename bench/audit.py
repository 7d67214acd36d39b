"""Static-audit benchmark: time to audit the bundled plugins, and the labelled corpus figures.

Times ``audit_plugin`` over every bundled plugin folder (what ``plugins check`` and every
load pay), median over ``--repeat`` runs in one process, then prints what the audit finds
on ``tests/audit_corpus``: the share of ``# MAL`` statements flagged and the share of
benign samples rated high (against their declared manifest, and as code alone).

Usage: python bench/audit.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_audit_corpus import benign_high, malicious_recall  # noqa: E402
from wiseflow._contract._manifest import load_manifest  # noqa: E402
from wiseflow._policy._audit import audit_plugin  # noqa: E402

PLUGINS = ROOT / "src" / "wiseflow" / "plugins"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    folders = sorted(p.parent for p in PLUGINS.glob("*/plugin.toml"))
    manifests = [(load_manifest(f), f) for f in folders]
    files = sum(1 for f in folders for _ in f.rglob("*.py"))
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        for manifest, folder in manifests:
            audit_plugin(manifest, folder)
        times.append(time.perf_counter() - start)
    print(f"bundled plugins: {len(folders)} folders, {files} .py files")
    print(f"audit time: median {statistics.median(times) * 1000:.1f} ms, "
          f"min {min(times) * 1000:.1f} ms over {args.repeat} runs")  # fmt: skip
    flagged, marked, _ = malicious_recall(against=None)
    print(f"malicious statements flagged: {flagged}/{marked} = {flagged / marked:.1%}")
    for with_manifest in (True, False):
        high, total, _ = benign_high(with_manifest=with_manifest)
        label = "against manifest" if with_manifest else "code alone"
        print(f"benign samples rated high ({label}): {high}/{total} = {high / total:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
