"""Run every benchmark in bench/ one after another (`make bench`).

Each script prints its own table of medians and ratios against the baselines it runs side
by side; ``core`` comes first: the four goals of issue 11, each against its anchors. Pass
names to run a subset: ``python bench/run_all.py isolation discovery``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
ORDER = [
    "core", "discovery", "integrity", "isolation", "pipeline", "replicas", "ray", "soak",
    "audit", "watch", "monitor", "callpath", "store", "envs", "repository",
]  # fmt: skip
#: Arguments per benchmark in `make bench` (discovery times the real CLI listing).
ARGS = {"discovery": ["--cli"], "pipeline": ["--compare", "5"]}


def main(argv: list[str]) -> int:
    wanted = argv or [n for n in ORDER if (HERE / f"{n}.py").exists()]
    failed = []
    for name in wanted:
        script = HERE / f"{name}.py"
        if not script.exists():
            print(f"no benchmark named {name!r}", file=sys.stderr)
            failed.append(name)
            continue
        print(f"\n=== bench/{name}.py ===", flush=True)
        argv = [sys.executable, str(script), *ARGS.get(name, [])]
        if subprocess.run(argv, check=False).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
